"""Business rules for orders. Services write (with their conditions); ``orders.selectors`` reads.

- ``creation``: ``order_create`` (the storefront's POST /orders)
- ``seats``: the seat-reservation pieces every transaction that moves seats uses
- ``transitions``: order state changes after creation (paid, canceled, expired, refunds, disputes)
"""
