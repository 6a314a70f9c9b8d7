"""Weak-network harness: a real browser and the real server across an emulated EDGE/2G/3G link.

``link``: two network namespaces made per run, a TUN relay for the delay and ``tc tbf``
for the rate; ``relay``: the relay process; ``journeys``: the four citizen journeys and
what they cost on the wire; ``python -m tests.weaknet``: the bench (``make bench-weaknet``).
Used by ``tests/test_weaknet.py``.
"""
