"""Change-only syncs (issue 19): the ledger of what the last successful sync confirmed in
HubSpot, kept per portal and connection code. ``store.py`` keeps it (a directory or an
S3-compatible bucket, the pointer swapped atomically); ``s3.py`` is the S3 client and the
explanations of its errors, shared with the rejected-records bucket."""
