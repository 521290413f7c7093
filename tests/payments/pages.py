"""Reading what staff see: the admin's detail values, related tables and the CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from html import unescape
from typing import Any


def detail(html: str, label: str) -> str:
    """The value of a read-only detail ("Refunded") on a change page: in its details, or in
    the summary at its top."""
    found = re.search(
        rf'<label>{re.escape(label)}:</label><div class="readonly">([^<]*)</div>', html
    ) or re.search(rf"<dt>{re.escape(label)}</dt><dd>([^<]*)</dd>", html)
    assert found, f"no detail {label!r}"
    return unescape(found.group(1)).strip()


def table(html: str, title: str) -> list[dict[str, str]]:
    """The rows of a related list ("Payments") on a change page, by column."""
    section = re.search(rf"<h2>{re.escape(title)}</h2>(.*?)</div>", html, flags=re.DOTALL)
    assert section, f"no related list {title!r}"
    body = section.group(1)
    columns = [unescape(c) for c in re.findall(r'<th scope="col">(.*?)</th>', body)]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.DOTALL)[1:]:
        cells = [
            unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td>(.*?)</td>", row, flags=re.DOTALL)
        ]
        rows.append(dict(zip(columns, cells, strict=True)))
    return rows


def csv_row(browser: Any, order_id: str) -> dict[str, str]:
    """The order's row in the admin's CSV export of today."""
    day = datetime.now(UTC).date().isoformat()
    response = browser.get(f"/admin/orders/order/export/?from={day}&to={day}")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r["order_id"] == order_id]
    assert len(rows) == 1
    return rows[0]
