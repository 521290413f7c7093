"""Where a list page reads, and one page of it: the bounds, the reads, the cursors.

A list declares a ``ListSource``: index partitions sorted by one range attribute. A page reads
at most ``per_page + 1`` items from each partition it touches (the extra one says whether there
is a next page: DynamoDB's ``LastEvaluatedKey`` does not promise more rows), and touches either
every partition of a merged source (a fixed, small number, e.g. one per status) or at most
``max_partitions`` time buckets: its cost depends on the page size, never on the table's size.

``page_fetch`` strings together small functions, each tested on its own:

- ``page_window``: from the cursor, the direction of the reads and the bounds on sort values;
- ``partitions_in_window``: which partitions can hold rows in those bounds, in reading order;
- ``range_condition`` / ``partition_read``: one Query of one partition;
- ``buckets_read`` / ``merged_read``: walk day buckets until the page is full or the budget
  is spent; or read every partition and merge;
- ``page_tokens``: the Prev/Next tokens for the rows shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pynamodb.attributes import Attribute

from dynamo_admin.cursor import NEXT, PREV, Cursor, cursor_decode, cursor_encode

# A key that sorts after any id, for a cursor that must skip every row with its sort value.
HIGHEST_KEY = "\U0010ffff"

Position = tuple[str, str]  # (sort value, key): a row's place in a list
# One Query: (partition, window, limit) -> items in the window's bounds and direction.
Reader = Callable[["Partition", "Window", int], list[Any]]


@dataclass(frozen=True)
class Partition:
    """One index partition: ``index.query(hash_value)``. ``low``/``high`` bound its sort values
    when partitions are time buckets (a day), so a page can skip buckets outside its range."""

    index: Any  # a GlobalSecondaryIndex or a Model class: anything with ``query``
    hash_value: str
    low: str | None = None
    high: str | None = None

    @property
    def queries(self) -> int:
        """The Queries one read of it makes: one, or one per shard for an index whose hash
        values are write-sharded (it says how many with ``queries_per_read``)."""
        per_read = getattr(self.index, "queries_per_read", None)
        return per_read(self.hash_value) if callable(per_read) else 1


@dataclass
class ListSource:
    """The partitions a list reads, all sorted by one range attribute (``sort_attribute``).

    ``bucketed``: partitions are disjoint time buckets given newest first (one day each), walked
    in order until the page is full or ``max_partitions`` were read, or the next would take the
    page past ``max_queries`` Queries (a sharded bucket costs one per shard); then the page
    ends early and Next continues from the next bucket: a page's cost stays bounded even over
    empty days.
    Otherwise the partitions overlap (one per status, say) and are read together and merged.
    ``low``/``high`` bound the sort values (inclusive), e.g. a date range filter.
    """

    partitions: list[Partition]
    sort_attribute: Attribute
    bucketed: bool = False
    low: str | None = None
    high: str | None = None
    max_partitions: int = 31
    max_queries: int = 32
    descending: bool = True  # newest (largest sort value) first; False for A-Z lists


@dataclass
class Page:
    rows: list[Any]
    next_token: str | None = None
    prev_token: str | None = None
    queries: int = 0
    # The page stopped at its bucket budget before filling up: older buckets are still unread.
    partial: bool = False


# --- Bounds ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """What one page may read: the direction of the index reads, the bounds on sort values
    (inclusive), and the row at the cursor's edge (rows up to it were on the page before)."""

    going_next: bool
    descending: bool  # the direction of the index reads
    low: str | None = None
    high: str | None = None
    edge: Position | None = None

    @property
    def empty(self) -> bool:
        return self.low is not None and self.high is not None and self.low > self.high

    def beyond_edge(self, position: Position) -> bool:
        """Whether a row lies past the cursor, in the direction of the reads."""
        if self.edge is None:
            return True
        return position < self.edge if self.descending else position > self.edge


def page_window(source: ListSource, cursor: Cursor | None) -> Window:
    """Going forward, the reads follow the list's order; going back, they run against it. A
    cursor narrows the bound on the side it moves towards to its own sort value."""
    going_next = cursor is None or cursor.going_next
    descending = going_next == source.descending
    low, high = source.low, source.high
    if cursor is None:
        return Window(going_next, descending, low, high)
    if descending:
        high = cursor.sort_value if high is None else min(high, cursor.sort_value)
    else:
        low = cursor.sort_value if low is None else max(low, cursor.sort_value)
    return Window(going_next, descending, low, high, cursor.position)


def partition_in_window(partition: Partition, window: Window) -> bool:
    """Whether a partition's own bounds let it hold rows of the window: within its bounds,
    and past its edge (a bucket whose every row sorts at or before the cursor was read by the
    page before: a budget token points at that bucket's boundary)."""
    p, low, high, edge = partition, window.low, window.high, window.edge
    if (p.high is not None and low is not None and p.high < low) or (
        p.low is not None and high is not None and p.low > high
    ):
        return False
    if edge is not None and window.descending and p.low is not None:
        return (p.low, "") < edge  # its first possible row lies before the edge
    if edge is not None and not window.descending and p.high is not None:
        return (p.high, HIGHEST_KEY) > edge  # its last possible row lies after the edge
    return True


def partitions_in_window(source: ListSource, window: Window) -> list[Partition]:
    """The partitions that can hold rows of the window, in reading order (buckets are given
    newest first, so going back reads them oldest first)."""
    kept = [p for p in source.partitions if partition_in_window(p, window)]
    if source.bucketed and not window.going_next:
        kept.reverse()
    return kept


# --- Reads -------------------------------------------------------------------------------------


def range_condition(attribute: Attribute, low: str | None, high: str | None) -> Any | None:
    """The Query's range-key condition for inclusive bounds (None: the whole partition)."""
    if low is not None and high is not None:
        return attribute.between(low, high)
    if low is not None:
        return attribute >= low
    if high is not None:
        return attribute <= high
    return None


def partition_read(partition: Partition, source: ListSource, window: Window, limit: int) -> list:
    """One Query of one partition, in the window's direction and bounds, at most ``limit``."""
    return list(
        partition.index.query(
            partition.hash_value,
            range_key_condition=range_condition(source.sort_attribute, window.low, window.high),
            scan_index_forward=not window.descending,
            limit=limit,
        )
    )


@dataclass
class Reads:
    found: list[Any] = field(default_factory=list)  # in reading order, past the cursor
    queries: int = 0
    # A bucketed read spent its budget: the sort value where the unread buckets begin.
    budget_stop: str | None = None


def buckets_read(
    partitions: list[Partition],
    window: Window,
    *,
    want: int,
    max_partitions: int,
    read: Reader,
    position: Callable[[Any], Position],
    max_queries: int | None = None,
) -> Reads:
    """Walk disjoint buckets in order until ``want`` rows are found, ``max_partitions``
    buckets were read, or the next bucket would spend more than ``max_queries`` Queries in all
    (the first bucket is always read). Each read asks only for what is still missing (plus
    one, past a cursor, for the edge row itself)."""
    reads = Reads()
    for n, partition in enumerate(partitions):
        over_budget = (
            max_queries is not None and n > 0 and reads.queries + partition.queries > max_queries
        )
        if n >= max_partitions or over_budget:
            previous = partitions[n - 1]
            reads.budget_stop = previous.low if window.descending else previous.high
            break
        limit = want - len(reads.found) + (1 if window.edge else 0)
        items = read(partition, window, limit)
        reads.queries += partition.queries
        reads.found.extend(i for i in items if window.beyond_edge(position(i)))
        if len(reads.found) >= want:
            break
    return reads


def merged_read(
    partitions: list[Partition],
    window: Window,
    *,
    want: int,
    read: Reader,
    position: Callable[[Any], Position],
) -> Reads:
    """Read ``want`` rows (plus one past a cursor) of every partition and merge them in the
    window's order: the first ``want`` of the merge are the first ``want`` of the union."""
    reads = Reads()
    for partition in partitions:
        items = read(partition, window, want + (1 if window.edge else 0))
        reads.queries += partition.queries
        reads.found.extend(i for i in items if window.beyond_edge(position(i)))
    reads.found.sort(key=position, reverse=window.descending)
    return reads


# --- Cursors -----------------------------------------------------------------------------------


def edge_token(direction: str, position: Position) -> str:
    """A token for the page that starts past this row."""
    return cursor_encode(direction=direction, sort_value=position[0], key=position[1])


def budget_token(direction: str, window: Window, sort_value: str) -> str:
    """A token for the page that starts at the first bucket not read yet: its key sorts before
    (or after) every real key, so no row with that sort value is skipped."""
    key = "" if window.descending else HIGHEST_KEY
    return cursor_encode(direction=direction, sort_value=sort_value, key=key)


def page_tokens(
    window: Window,
    rows: list[Any],
    *,
    more: bool,
    budget_stop: str | None,
    had_cursor: bool,
    position: Callable[[Any], Position],
) -> tuple[str | None, str | None]:
    """``(next, prev)`` tokens for ``rows`` (in the list's order). ``more``: rows remain in
    the reading direction; ``budget_stop``: the reads stopped at their bucket budget."""
    first = position(rows[0]) if rows else None
    last = position(rows[-1]) if rows else None
    if window.going_next:
        onward = _onward_token(NEXT, window, last, more=more, budget_stop=budget_stop)
        return onward, (edge_token(PREV, first) if had_cursor and first else None)
    onward = _onward_token(PREV, window, first, more=more, budget_stop=budget_stop)
    return (edge_token(NEXT, last) if last else None), onward


def _onward_token(
    direction: str,
    window: Window,
    edge_row: Position | None,
    *,
    more: bool,
    budget_stop: str | None,
) -> str | None:
    """The token that goes on in the reading direction: past the page's far row when more rows
    were found (or a budget stopped the reads after some), else from the first unread bucket."""
    if edge_row is not None and (more or (budget_stop is not None and direction == PREV)):
        return edge_token(direction, edge_row)
    if budget_stop is not None:
        return budget_token(direction, window, budget_stop)
    return None


# --- One page ----------------------------------------------------------------------------------


def page_fetch(
    source: ListSource,
    *,
    token: str | None,
    per_page: int,
    key_of: Callable[[Any], str],
    sort_of: Callable[[Any], str],
    read: Reader | None = None,
) -> Page:
    """One page of ``source`` in its order, starting at the cursor in ``token`` (an invalid
    token reads the first page). ``read`` replaces the Query (``partition_read``)."""
    cursor = cursor_decode(token)
    window = page_window(source, cursor)
    if window.empty:
        return Page(rows=[])

    def position(item: Any) -> Position:
        return (sort_of(item), key_of(item))

    def query(partition: Partition, window: Window, limit: int) -> list[Any]:
        return partition_read(partition, source, window, limit)

    partitions = partitions_in_window(source, window)
    want = per_page + 1
    if source.bucketed:
        reads = buckets_read(
            partitions,
            window,
            want=want,
            max_partitions=source.max_partitions,
            max_queries=source.max_queries,
            read=read or query,
            position=position,
        )
    else:
        reads = merged_read(partitions, window, want=want, read=read or query, position=position)
    more = len(reads.found) > per_page
    rows = reads.found[:per_page]
    if not window.going_next:
        rows.reverse()
    next_token, prev_token = page_tokens(
        window,
        rows,
        more=more,
        budget_stop=reads.budget_stop,
        had_cursor=cursor is not None,
        position=position,
    )
    return Page(
        rows=rows,
        next_token=next_token,
        prev_token=prev_token,
        queries=reads.queries,
        partial=reads.budget_stop is not None and not more,
    )


def day_partitions(index: Any, *, first: date, last: date) -> list[Partition]:
    """One partition per day (hash value ``YYYY-MM-DD``), newest first, for an index whose
    partition key is the day an item was created and whose range key is its ISO time."""
    days = []
    for back in range((last - first).days + 1):  # never steps past ``first`` (nor date.min)
        text = (last - timedelta(days=back)).isoformat()
        days.append(
            Partition(index, text, low=f"{text}T00:00:00.000000Z", high=f"{text}T23:59:59.999999Z")
        )
    return days


def month_partitions(index: Any, *, first: date, last: date) -> list[Partition]:
    """One partition per month (hash value ``YYYY-MM``), newest first, from ``first``'s month
    to ``last``'s, for an index whose partition key is the month an item was created (or its
    write shards: see ``Partition.queries``) and whose range key is its ISO time."""
    months = []
    year, month = last.year, last.month
    while (year, month) >= (first.year, first.month):
        start = date(year, month, 1)
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        text = start.isoformat()[:7]
        months.append(
            Partition(
                index,
                text,
                low=f"{start.isoformat()}T00:00:00.000000Z",
                high=f"{end.isoformat()}T23:59:59.999999Z",
            )
        )
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months
