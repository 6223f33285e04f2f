"""The write pipeline: one message loop owning all sync state, one sink per stream.

``loop.py`` (the loop, jobs in flight, ordering, checkpoints), ``inbox.py`` (the input, read
on a thread of its own), ``sinks.py`` (per-stream
mapping, buffering and folding of outcomes), ``associations.py`` (the Lago customer ->
HubSpot id index and the associations waiting for it), ``jobs.py`` (what a worker runs).
"""
