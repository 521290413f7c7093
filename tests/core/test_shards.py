"""Write-sharded keys (``core.shards``): an item's shard is stable, and a read of every shard
comes back merged in the index's order. Pure logic: an index here is a dict of lists."""

from __future__ import annotations

from dataclasses import dataclass

from core.shards import ShardedIndex, shard_key, shard_keys, shard_of, shard_value


@dataclass
class Row:
    key: str
    at: str


class FakeIndex:
    """``query`` as an index answers it: one partition's rows by ``at``, at most ``limit``."""

    def __init__(self, rows: dict[str, list[Row]]) -> None:
        self.rows = rows
        self.asked: list[str] = []

    def query(self, hash_key, scan_index_forward=None, limit=None, **_ignored):
        self.asked.append(hash_key)
        rows = sorted(self.rows.get(hash_key, []), key=lambda r: r.at)
        if scan_index_forward is False:
            rows.reverse()
        return iter(rows[:limit] if limit is not None else rows)


def test_an_items_shard_is_stable_and_spreads_over_every_shard():
    ids = [f"ord_{n}" for n in range(400)]

    shards = [shard_of(i, 8) for i in ids]

    assert shards == [shard_of(i, 8) for i in ids]  # the same in every process (crc32)
    assert set(shards) == set(range(8))
    assert max(shards.count(n) for n in range(8)) < 2 * 400 / 8
    assert shard_key("2026-12-07", "ord_1", 1) == "2026-12-07#0"
    assert shard_value(shard_key("2026-12-07", "ord_1", 8)) == "2026-12-07"
    assert shard_keys("paid", 3) == ["paid#0", "paid#1", "paid#2"]


def test_a_sharded_read_queries_each_shard_and_merges_them_in_order():
    rows = {f"day#{n}": [] for n in range(4)}
    every = [Row(f"ord_{n}", f"2026-12-07T10:{n:02d}") for n in range(20)]
    for row in every:
        rows[shard_key("day", row.key, 4)].append(row)
    index = FakeIndex(rows)
    sharded = ShardedIndex(index, shards=4, range_attribute="at")

    oldest = list(sharded.query("day"))
    newest_five = list(sharded.query("day", scan_index_forward=False, limit=5))

    assert oldest == every
    assert newest_five == every[::-1][:5]
    assert sorted(index.asked) == sorted(shard_keys("day", 4) * 2)
    assert sharded.queries_per_read("day") == 4


def test_the_shard_count_may_depend_on_the_value():
    index = FakeIndex({"pending_payment#1": [Row("a", "1")], "paid#0": [Row("b", "2")]})
    sharded = ShardedIndex(
        index, shards=lambda v: 4 if v == "pending_payment" else 1, range_attribute="at"
    )

    assert [r.key for r in sharded.query("pending_payment")] == ["a"]
    assert [r.key for r in sharded.query("paid")] == ["b"]
    assert index.asked[-1] == "paid#0"
    assert sharded.queries_per_read("paid") == 1
