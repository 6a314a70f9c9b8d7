"""Adapters to other government systems: an embedded default and an HTTP client each.

Each adapter is a small Protocol; the app picks the implementation from
configuration, so a region can point it at the real service without code changes.
"""
