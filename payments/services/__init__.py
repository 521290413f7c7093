"""Business rules for payments. Services write (with their conditions); ``payments.selectors``
reads.

- ``records``: the payment item's history (attempts, success, cancellation, refunds, disputes)
- ``refunds``: ``refund_create``, the staff refund the admin calls
- ``events``: the claim on a Stripe event id (claim, finish, release), so each takes effect once
"""
