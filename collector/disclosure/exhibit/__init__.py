"""Exhibit packets for prosecutors: a PDF rendering of verified bundles, with certification."""
