"""Property-based: no body, however malformed, makes POST /orders answer 500 or lose a seat.

Random JSON, near-valid bodies and raw bytes go through HTTP; every answer must be one of the
documented ones, in the documented error shape.
"""

from __future__ import annotations

import json

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.models import ORDERS_BY_STATUS, TicketType
from tests.factories import ticket_type_create

pytestmark = pytest.mark.usefixtures("aws")

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
# Near-valid bodies reach deeper code than random JSON does.
SKU = st.sampled_from(["ga", "vip", "gone", "", "x" * 70]) | st.text(max_size=8) | JSON
QUANTITY = st.integers(min_value=-5, max_value=30) | st.sampled_from(
    [10**20, -(10**20), 1.5, "1", None, True]
)
EMAIL = st.emails() | st.sampled_from(["", "no-at", "a@b", "x" * 300 + "@example.com"]) | JSON
ITEM = st.fixed_dictionaries({"sku": SKU, "quantity": QUANTITY}) | JSON
BODY = (
    st.fixed_dictionaries(
        {
            "customer": st.fixed_dictionaries(
                {"email": EMAIL, "name": st.text(max_size=250) | JSON}
            )
            | JSON
        },
        optional={"items": st.lists(ITEM, max_size=12) | JSON, "extra": JSON},
    )
    | JSON
)

ALLOWED = {201, 400, 409, 415}


@pytest.fixture
def stock(aws):
    boto3.client("ssm", endpoint_url=aws.aws_url).put_parameter(
        Name="/ticketstoheaven/local/orders_rate_limit_per_minute",
        Value="100000",
        Type="String",
        Overwrite=True,
    )
    ticket_type_create("ga", available=10_000)
    ticket_type_create("vip", available=None)
    ticket_type_create("gone", active=False)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=BODY)
def test_no_json_body_gets_a_500(client, stock, body):
    response = client.post("/orders", json.dumps(body), content_type="application/json")

    assert response.status_code in ALLOWED, (body, response.content)
    assert "error" in response.json() or response.status_code == 201
    # The books balance after every request: each seat gone from "ga" belongs to an order.
    sold = sum(
        i.quantity
        for o in ORDERS_BY_STATUS.query("pending_payment")
        for i in o.items
        if i.sku == "ga"
    )
    assert TicketType.get("ga").available == 10_000 - sold


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    raw=st.binary(max_size=300),
    content_type=st.sampled_from(["application/json", "text/plain", ""]),
)
def test_no_raw_body_gets_a_500(client, stock, raw, content_type):
    response = client.post("/orders", raw, content_type=content_type)

    assert response.status_code in ALLOWED | {415}, (raw, response.content)
