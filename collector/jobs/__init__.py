"""Captures as jobs: an investigator signs a capture request, a capture system (a worker, with
its own key and certificate) captures and seals it. The request is recorded in the ledger
(`capture.requested`) and carried in the bundle; a job is sealed at most once."""
