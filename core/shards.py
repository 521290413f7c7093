"""Write-sharded keys: one hot partition key value split over N shards, and reading them back.

DynamoDB gives each partition key value about 1,000 write units a second, a global secondary
index's partitions too. An index whose key many new items share (the day an order was
placed, ``pending_payment``, the first letters of a name) caps every write that lands in it
at that rate. The cure is to add a shard number to the value (``2026-12-07#5``), chosen by a
stable hash of the item's own id, so writes spread over N partitions, and to have readers
query the N shards and merge them in the index's order.

- ``shard_key(value, item_id, shards)`` is the stored key; the shard of an item never changes
  (its id does not), so an update that keeps the value keeps the key.
- ``ShardedIndex(index, shards=..., range_attribute=...)`` has the ``query`` of an index
  (the same arguments, the unsharded value as hash key): it queries every shard, each
  lazily, and merges them by the range key in the query's direction (``heapq.merge``), so
  ``limit`` items cost at most ``shards`` Queries of at most ``limit`` items each, and a walk
  over a large partition stays flat in memory. It can stand wherever an index is used as a
  list's partition (``dynamo_admin.paging.Partition``).

The shard counts live next to the models that use them. A count is chosen once: changing it
moves items between keys, which needs the backfill that rewrites them. Nothing here knows any
business; this module must not import an app.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

SEPARATOR = "#"


def shard_of(item_id: str, shards: int) -> int:
    """The shard of an item, from a stable hash of its id (the same in every process)."""
    if shards <= 1:
        return 0
    return zlib.crc32(item_id.encode()) % shards


def shard_key(value: str, item_id: str, shards: int) -> str:
    """The stored key of ``value`` for the item ``item_id``: ``{value}#{shard}``."""
    return f"{value}{SEPARATOR}{shard_of(item_id, shards)}"


def shard_keys(value: str, shards: int) -> list[str]:
    """Every stored key of ``value``."""
    return [f"{value}{SEPARATOR}{n}" for n in range(max(1, shards))]


def shard_value(key: str) -> str:
    """The value a stored key shards (``2026-12-07#5`` -> ``2026-12-07``)."""
    return key.rpartition(SEPARATOR)[0] or key


class ShardedIndex:
    """An index whose hash key values are sharded, read as if they were not.

    ``shards``: the count, or a function of the value (e.g. only ``pending_payment`` is
    sharded); ``range_attribute``: the model attribute (its Python name) of the index's range
    key, which the merge orders by."""

    def __init__(
        self, index: Any, *, shards: int | Callable[[str], int], range_attribute: str
    ) -> None:
        self.index = index
        self.shards = shards if callable(shards) else (lambda _value, n=shards: n)
        self.range_attribute = range_attribute

    def keys(self, value: str) -> list[str]:
        return shard_keys(value, self.shards(value))

    def queries_per_read(self, value: str) -> int:
        """The Queries a ``query`` of ``value`` makes (one per shard)."""
        return max(1, self.shards(value))

    def query(
        self,
        hash_key: str,
        range_key_condition: Any = None,
        filter_condition: Any = None,
        scan_index_forward: bool | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        **kwargs: Any,
    ) -> Iterator[Any]:
        """Items of every shard of ``hash_key``, in range-key order (descending when
        ``scan_index_forward`` is False), at most ``limit``."""
        reads = [
            iter(
                self.index.query(
                    key,
                    range_key_condition=range_key_condition,
                    filter_condition=filter_condition,
                    scan_index_forward=scan_index_forward,
                    limit=limit,
                    page_size=page_size,
                    **kwargs,
                )
            )
            for key in self.keys(hash_key)
        ]
        descending = scan_index_forward is False
        merged = (
            reads[0]
            if len(reads) == 1
            else heapq.merge(
                *reads, key=lambda item: getattr(item, self.range_attribute), reverse=descending
            )
        )
        return islice(merged, limit) if limit is not None else merged
