"""One module per area; each exposes ``routes``, a list of named Starlette routes."""
