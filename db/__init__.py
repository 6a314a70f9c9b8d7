"""Everything that touches SQLite: connections, schema migrations, seed data and queries.

Routes never import from here directly; service functions in ``services/`` do.
"""
