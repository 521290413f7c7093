"""The local stack: real servers on loopback standing in for AWS, Stripe and the ticket vendor.

Used by ``make dev`` (``python -m devstack``) and by the test suite's fixtures, so developers and
tests run against the same servers. Never shipped in the Lambda package.
"""
