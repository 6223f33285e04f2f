"""The Airbyte protocol without the CDK (whose import costs seconds of CPU): the command line
(``command_line.py``), messages read from stdin and the configured catalog (``incoming.py``),
messages printed to stdout (``outgoing.py``), and the secret filter every printed text passes
(``secrets.py``)."""
