"""Business rules for orders. Services write (with their conditions); ``orders.selectors`` reads.

- ``creation``: ``order_create`` (the storefront's POST /orders) and
  ``order_create_idempotent`` (the same behind an ``Idempotency-Key``)
- ``seats``: the seat-reservation pieces every transaction that moves seats uses
- ``transitions``: order state changes after creation (paid, canceled, expired, refunds, disputes)
- ``fulfillment``: the vendor issuing the tickets (queue, attempts, breaker, sweeper)
- ``changes``: one order change and its audit entry in one transaction (used by the above)
- ``notes``: staff notes on orders and customers (entries in the audit log)
- ``audit_migration``: moves audit entries of the old shape into the audit log (maintenance)
"""
