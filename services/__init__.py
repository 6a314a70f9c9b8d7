"""Service functions: the rules of MPP Digital, between routes (HTTP) and db (SQL)."""
