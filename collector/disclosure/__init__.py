"""What leaves the agency: exports and their verification, exhibits, audit reports."""
