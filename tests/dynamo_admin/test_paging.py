"""dynamo_admin's paging, function by function: bounds, reads, cursors.

None of these functions talks to AWS, so this module runs without the local servers (the pure
tier, ``tests/README.md``).
The reads run against an in-memory stand-in for an index partition (``MemoryIndex``), which
answers as a Query does: the rows of one partition within the range-key bounds, in the asked
direction, at most ``limit``. The same functions over DynamoDB (moto) are covered by
``tests/orders/test_admin.py`` and ``tests/dynamo_admin/test_package.py``'s
``test_partition_read_queries_one_partition_in_its_bounds_and_direction``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynamo_admin.cursor import NEXT, PREV, Cursor, cursor_decode, cursor_encode
from dynamo_admin.paging import (
    HIGHEST_KEY,
    ListSource,
    Page,
    Partition,
    Window,
    buckets_read,
    day_partitions,
    merged_read,
    page_fetch,
    page_tokens,
    page_window,
    partitions_in_window,
    range_condition,
)


@dataclass(frozen=True)
class Row:
    sort: str
    key: str
    hash_value: str = ""


def position(row: Row) -> tuple[str, str]:
    return (row.sort, row.key)


class MemoryIndex:
    """Rows by partition; ``read`` answers like a Query with a range-key condition."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows
        self.queries: list[tuple[str, int]] = []

    def read(self, partition: Partition, window: Window, limit: int) -> list[Row]:
        self.queries.append((partition.hash_value, limit))
        rows = [
            r
            for r in self.rows
            if r.hash_value == partition.hash_value
            and (window.low is None or r.sort >= window.low)
            and (window.high is None or r.sort <= window.high)
        ]
        rows.sort(key=position, reverse=window.descending)
        return rows[:limit]


SORT = object()  # stands for the range attribute: the reads here never build a condition


def source(partitions: list[Partition], **kwargs) -> ListSource:
    return ListSource(partitions=partitions, sort_attribute=SORT, **kwargs)  # type: ignore[arg-type]


# --- bounds ----------------------------------------------------------------------------------


def test_a_first_page_reads_in_the_lists_order_within_its_filter_bounds():
    window = page_window(source([], low="2026-01", high="2026-03"), None)

    assert window == Window(going_next=True, descending=True, low="2026-01", high="2026-03")


def test_next_narrows_the_upper_bound_to_the_cursor_and_prev_reads_the_other_way():
    newest_first = source([], low="2026-01", high="2026-03")

    forward = page_window(newest_first, Cursor(NEXT, "2026-02", "k5"))
    back = page_window(newest_first, Cursor(PREV, "2026-02", "k5"))
    a_to_z_back = page_window(source([], descending=False), Cursor(PREV, "m", "m"))

    assert (forward.descending, forward.low, forward.high, forward.edge) == (
        True,
        "2026-01",
        "2026-02",
        ("2026-02", "k5"),
    )
    assert (back.descending, back.low, back.high, back.going_next) == (
        False,
        "2026-02",
        "2026-03",
        False,
    )
    assert (a_to_z_back.descending, a_to_z_back.low, a_to_z_back.high) == (True, None, "m")


def test_a_cursor_outside_the_filter_gives_an_empty_window_and_an_empty_page():
    filtered = source([Partition(None, "p")], low="2026-05", high="2026-06")
    stale = cursor_encode(direction=NEXT, sort_value="2026-01", key="k")

    assert page_window(filtered, cursor_decode(stale)).empty
    assert page_fetch(filtered, token=stale, per_page=5, key_of=str, sort_of=str) == Page([])


def test_rows_at_or_before_the_cursor_are_not_beyond_its_edge():
    window = Window(going_next=True, descending=True, edge=("2026-02", "k5"))

    assert window.beyond_edge(("2026-02", "k4"))
    assert not window.beyond_edge(("2026-02", "k5"))
    assert not window.beyond_edge(("2026-02", "k6"))
    assert not window.beyond_edge(("2026-03", "a"))


def test_only_buckets_meeting_the_bounds_are_read_oldest_first_when_going_back():
    days = day_partitions(None, first=date(2026, 3, 1), last=date(2026, 3, 5))
    bucketed = source(days, bucketed=True)
    bounds = {"low": "2026-03-02T00:00:00.000000Z", "high": "2026-03-03T12:00:00.000000Z"}

    forward = partitions_in_window(bucketed, Window(True, True, **bounds))
    back = partitions_in_window(bucketed, Window(False, False, **bounds))

    assert [p.hash_value for p in forward] == ["2026-03-03", "2026-03-02"]
    assert [p.hash_value for p in back] == ["2026-03-02", "2026-03-03"]


def test_range_conditions_follow_the_bounds_given():
    from orders.models import Order

    assert str(range_condition(Order.created_at, "a", "b")) == (
        "created_at BETWEEN {'S': 'a'} AND {'S': 'b'}"
    )
    assert str(range_condition(Order.created_at, "a", None)) == "created_at >= {'S': 'a'}"
    assert str(range_condition(Order.created_at, None, "b")) == "created_at <= {'S': 'b'}"
    assert range_condition(Order.created_at, None, None) is None


# --- reads -----------------------------------------------------------------------------------


def test_buckets_are_read_until_the_page_is_full_asking_only_for_what_is_missing():
    rows = [Row(f"2026-03-0{d}T10", f"k{d}{n}", f"2026-03-0{d}") for d in (5, 4, 3) for n in (1, 2)]
    index = MemoryIndex(rows)
    days = day_partitions(None, first=date(2026, 3, 1), last=date(2026, 3, 5))

    reads = buckets_read(
        days, Window(True, True), want=3, max_partitions=31, read=index.read, position=position
    )

    assert [r.key for r in reads.found] == ["k52", "k51", "k42"]
    assert index.queries == [("2026-03-05", 3), ("2026-03-04", 1)]
    assert (reads.queries, reads.budget_stop) == (2, None)


def test_a_bucket_walk_stops_at_its_budget_and_says_where_the_unread_days_begin():
    index = MemoryIndex([Row("2026-03-01T10", "old", "2026-03-01")])
    days = day_partitions(None, first=date(2026, 3, 1), last=date(2026, 3, 5))

    reads = buckets_read(
        days, Window(True, True), want=3, max_partitions=2, read=index.read, position=position
    )

    assert reads.found == []
    assert reads.queries == 2
    assert reads.budget_stop == "2026-03-04T00:00:00.000000Z"  # the oldest day read


def test_merged_partitions_are_each_read_once_and_interleaved_in_order():
    rows = [Row("3", "a", "paid"), Row("1", "b", "paid"), Row("2", "c", "canceled")]
    index = MemoryIndex(rows)
    statuses = [Partition(None, "paid"), Partition(None, "canceled")]

    reads = merged_read(statuses, Window(True, True), want=3, read=index.read, position=position)

    assert [r.key for r in reads.found] == ["a", "c", "b"]
    assert index.queries == [("paid", 3), ("canceled", 3)]


def test_past_a_cursor_each_partition_is_asked_for_one_more_row_and_the_edge_row_dropped():
    rows = [Row("3", "a", "paid"), Row("2", "b", "paid"), Row("1", "c", "paid")]
    index = MemoryIndex(rows)

    reads = merged_read(
        [Partition(None, "paid")],
        Window(True, True, high="3", edge=("3", "a")),
        want=2,
        read=index.read,
        position=position,
    )

    assert [r.key for r in reads.found] == ["b", "c"]
    assert index.queries == [("paid", 3)]


# --- cursors ---------------------------------------------------------------------------------


def test_tokens_of_a_first_page_with_more_rows():
    rows = [Row("3", "a"), Row("2", "b")]

    next_token, prev_token = page_tokens(
        Window(True, True), rows, more=True, budget_stop=None, had_cursor=False, position=position
    )

    assert cursor_decode(next_token) == Cursor(NEXT, "2", "b")
    assert prev_token is None


def test_tokens_of_a_last_page_reached_going_forward():
    rows = [Row("1", "c")]

    next_token, prev_token = page_tokens(
        Window(True, True), rows, more=False, budget_stop=None, had_cursor=True, position=position
    )

    assert next_token is None
    assert cursor_decode(prev_token) == Cursor(PREV, "1", "c")


def test_a_page_cut_short_by_its_budget_continues_from_the_unread_buckets():
    newest_first, a_to_z = Window(True, True), Window(True, False)

    token, _ = page_tokens(
        newest_first, [], more=False, budget_stop="D", had_cursor=False, position=position
    )
    ascending, _ = page_tokens(
        a_to_z, [], more=False, budget_stop="D", had_cursor=False, position=position
    )

    assert cursor_decode(token) == Cursor(NEXT, "D", "")  # every row of D is still to come
    assert cursor_decode(ascending) == Cursor(NEXT, "D", HIGHEST_KEY)


def test_tokens_of_a_page_reached_going_back():
    rows = [Row("5", "e"), Row("4", "d")]  # in the list's order
    back = Window(False, False, edge=("3", "c"))

    with_more = page_tokens(
        back, rows, more=True, budget_stop=None, had_cursor=True, position=position
    )
    newest = page_tokens(
        back, rows, more=False, budget_stop=None, had_cursor=True, position=position
    )

    assert [cursor_decode(t) for t in with_more] == [Cursor(NEXT, "4", "d"), Cursor(PREV, "5", "e")]
    assert [cursor_decode(t) for t in newest] == [Cursor(NEXT, "4", "d"), None]


def test_a_forged_or_damaged_token_is_no_cursor():
    genuine = cursor_encode(direction=NEXT, sort_value="2", key="b")

    assert cursor_decode(genuine) == Cursor(NEXT, "2", "b")
    assert cursor_decode(genuine[:-3] + "abc") is None
    assert cursor_decode("not a token") is None
    assert cursor_decode(None) is None


# --- whole pages, any data -------------------------------------------------------------------


def walk(src: ListSource, index: MemoryIndex, per_page: int, token: str | None, way: str):
    """Follow Next (or Prev) links from ``token`` until there are none: the pages' rows (and
    the last page). Checks each page's size and its number of Queries on the way."""
    pages: list[list[Row]] = []
    budget = src.max_partitions if src.bucketed else len(src.partitions)
    for _ in range(500):
        asked = len(index.queries)
        page = page_fetch(
            src,
            token=token,
            per_page=per_page,
            key_of=lambda r: r.key,
            sort_of=lambda r: r.sort,
            read=index.read,
        )
        assert len(page.rows) <= per_page
        assert len(index.queries) - asked == page.queries <= budget
        pages.append(page.rows)
        token = page.next_token if way == "next" else page.prev_token
        if token is None:
            return pages, page
    raise AssertionError("the pages never ended")


statuses = st.sampled_from(["paid", "canceled", "refunded"])
# Sort values are unique, as the lists here have them (times to the microsecond plus a random
# id, skus, usernames): the cursor orders rows with one sort value by key, and a Query cut by
# its limit inside a run of equal sort values could skip some (see dynamo_admin/README.md).
merged_rows = st.lists(
    st.builds(
        Row,
        st.text("0123456789", min_size=1, max_size=3),
        st.text("abcdef", min_size=1, max_size=3),
        statuses,
    ),
    max_size=30,
    unique_by=(lambda r: r.key, lambda r: r.sort),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=merged_rows, per_page=st.integers(1, 5), descending=st.booleans())
def test_next_then_prev_visit_every_row_of_merged_partitions_once_in_order(
    rows, per_page, descending
):
    index = MemoryIndex(rows)
    src = source(
        [Partition(None, s) for s in ("paid", "canceled", "refunded")], descending=descending
    )
    expected = sorted(rows, key=position, reverse=descending)

    forward, last = walk(src, index, per_page, None, "next")
    seen = [r for page in forward for r in page]
    back, _ = walk(src, index, per_page, last.prev_token, "prev") if last.prev_token else ([], None)
    seen_back = [r for page in reversed(back) for r in page]

    assert seen == expected
    assert all(len(page) == per_page for page in forward[:-1])
    assert seen_back == expected[: len(expected) - len(forward[-1])]


def _day_rows(draw_days: list[int], today: date) -> list[Row]:
    rows = []
    for n, days_ago in enumerate(draw_days):
        day = today - timedelta(days=days_ago)
        rows.append(Row(f"{day.isoformat()}T00:{n:02d}:00.000000Z", f"k{n:03d}", day.isoformat()))
    return rows


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    days_ago=st.lists(st.integers(0, 20), max_size=25),
    per_page=st.integers(1, 4),
    budget=st.integers(1, 6),
)
def test_next_then_prev_over_day_buckets_reach_every_row_within_the_bucket_budget(
    days_ago, per_page, budget
):
    today = datetime(2026, 3, 31, tzinfo=UTC).date()
    rows = _day_rows(days_ago, today)
    index = MemoryIndex(rows)
    days = day_partitions(None, first=today - timedelta(days=20), last=today)
    src = source(days, bucketed=True, max_partitions=budget)
    expected = sorted(rows, key=position, reverse=True)

    forward, last = walk(src, index, per_page, None, "next")
    seen = [r for page in forward for r in page]
    back, _ = walk(src, index, per_page, last.prev_token, "prev") if last.prev_token else ([], None)
    seen_back = [r for page in reversed(back) for r in page]

    assert seen == expected
    if last.prev_token:
        assert seen_back == expected[: len(expected) - len(forward[-1])]


def test_the_bucket_a_budget_token_points_at_is_not_read_again():
    days = day_partitions(None, first=date(2026, 3, 1), last=date(2026, 3, 3))
    read_up_to = "2026-03-02T00:00:00.000000Z"  # the page before stopped after March 2nd
    token = cursor_decode(cursor_encode(direction=NEXT, sort_value=read_up_to, key=""))

    window = page_window(source(days, bucketed=True), token)

    assert [p.hash_value for p in partitions_in_window(source(days, bucketed=True), window)] == [
        "2026-03-01"
    ]


def test_month_partitions_run_newest_first_with_each_months_bounds():
    from dynamo_admin.paging import month_partitions

    months = month_partitions(None, first=date(2026, 11, 15), last=date(2027, 1, 3))

    assert [m.hash_value for m in months] == ["2027-01", "2026-12", "2026-11"]
    assert (months[1].low, months[1].high) == (
        "2026-12-01T00:00:00.000000Z",
        "2026-12-31T23:59:59.999999Z",
    )
    assert months[2].high == "2026-11-30T23:59:59.999999Z"


def test_a_sharded_bucket_spends_one_query_per_shard_of_the_budget():
    class Sharded:
        def queries_per_read(self, value: str) -> int:
            return 8

    from dynamo_admin.paging import month_partitions, page_fetch

    index = MemoryIndex([])
    months = month_partitions(Sharded(), first=date(2026, 1, 1), last=date(2026, 12, 31))

    page = page_fetch(
        source(months, bucketed=True), token=None, per_page=5, key_of=str, sort_of=str,
        read=index.read,
    )  # fmt: skip

    # 12 empty months of 8 shards each: the page stops at its budget of 32 Queries (4 months)
    assert page.queries == 32 and len(index.queries) == 4
    assert page.partial and page.next_token
