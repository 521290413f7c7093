"""The storefront API over HTTP: catalog, order creation, order status."""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from django.test import Client, override_settings

from core.ratelimit import WINDOW_SECONDS
from integrations.stripe_client import payment_intent_retrieve
from orders.models import ORDERS_BY_STATUS, Customer, Order, OrderStatus, TicketType
from payments.models import Payment
from tests.factories import order_body, ticket_type_create

pytestmark = pytest.mark.usefixtures("aws")


def post_order(client: Client, body, **headers):
    return client.post(
        "/orders", json.dumps(body), content_type="application/json", headers=headers
    )


def all_orders() -> list[Order]:
    return [o for status in OrderStatus for o in ORDERS_BY_STATUS.query(status.value)]


# --- GET /catalog ------------------------------------------------------------------------------


def test_the_catalog_lists_active_ticket_types_with_seats_left(client):
    ticket_type_create("ga", unit_amount=4900, available=12)
    ticket_type_create("stream", unit_amount=1500, available=None)
    ticket_type_create("old", active=False)

    response = client.get("/catalog")

    assert response.status_code == 200
    assert response.json() == [
        {
            "sku": "ga",
            "name": "GA",
            "description": "ga tickets",
            "unit_amount": 4900,
            "currency": "usd",
            "available": 12,
        },
        {
            "sku": "stream",
            "name": "STREAM",
            "description": "stream tickets",
            "unit_amount": 1500,
            "currency": "usd",
            "available": None,
        },
    ]


# --- POST /orders ------------------------------------------------------------------------------


def test_an_order_is_priced_from_the_catalog_and_gets_a_payment_intent(client):
    ticket_type_create("ga", unit_amount=4900, available=10)
    ticket_type_create("vip", unit_amount=14900, available=None)
    body = order_body(
        items=[{"sku": "ga", "quantity": 2, "unit_amount": 1}, {"sku": "vip", "quantity": 1}]
    )
    body["total_amount"] = 1  # the client cannot set amounts

    response = post_order(client, body)

    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["status"] == "pending_payment"
    assert created["currency"] == "usd"
    assert created["total_amount"] == 2 * 4900 + 14900
    assert created["items"] == [
        {"sku": "ga", "name": "GA", "quantity": 2, "unit_amount": 4900, "amount": 9800},
        {"sku": "vip", "name": "VIP", "quantity": 1, "unit_amount": 14900, "amount": 14900},
    ]
    assert created["order_id"].startswith("ord_") and len(created["order_id"]) >= 26
    assert created["created_at"].endswith("Z")
    intent = payment_intent_retrieve(payment_intent_id=created["payment"]["payment_intent_id"])
    assert (intent.amount, intent.currency, intent.metadata) == (
        24700,
        "usd",
        {"order_id": created["order_id"]},
    )
    assert created["payment"]["client_secret"] == intent.client_secret
    assert TicketType.get("ga").available == 8
    assert TicketType.get("vip").available is None
    payments = list(Payment.order_index.query(created["order_id"]))
    assert [(p.payment_id, p.amount) for p in payments] == [(intent.id, 24700)]


def test_the_order_status_page_shows_no_personal_data_beyond_a_masked_email(client):
    ticket_type_create("ga")
    order_id = post_order(
        client, order_body("Jane.Doe@Example.com", phone="+1 415 555 0100")
    ).json()["order_id"]

    response = client.get(f"/orders/{order_id}")

    assert response.status_code == 200
    status = response.json()
    assert status["customer"] == {"email": "j***@example.com"}
    assert status["status"] == "pending_payment"
    assert status["fulfillment"] == {"status": "not_started", "tickets": []}
    assert status["total_amount"] == 10000
    text = response.content.decode()
    assert "jane.doe" not in text.lower() and "555" not in text and "client_secret" not in text


@pytest.mark.parametrize("order_id", ["ord_doesnotexist000000000", "nonsense", "ord_" + "x" * 300])
def test_an_unknown_order_is_404(client, order_id):
    response = client.get(f"/orders/{order_id}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_returning_customer_is_found_by_normalised_email(client):
    ticket_type_create("ga")
    first = post_order(client, order_body("Ada@Example.com ")).json()
    second = post_order(client, order_body("ada@example.com")).json()

    orders = {o.order_id: o for o in all_orders()}
    assert orders[first["order_id"]].customer_id == orders[second["order_id"]].customer_id
    assert [c.email for c in Customer.email_index.query("ada@example.com")] == ["ada@example.com"]


def test_concurrent_first_orders_with_one_new_email_make_one_customer(aws):
    ticket_type_create("ga", available=None)

    with ThreadPoolExecutor(8) as pool:
        responses = list(
            pool.map(lambda _: post_order(Client(), order_body("same@example.com")), range(8))
        )

    assert [r.status_code for r in responses] == [201] * 8
    customers = list(Customer.email_index.query("same@example.com"))
    assert len(customers) == 1
    assert {o.customer_id for o in all_orders()} == {customers[0].customer_id}


def test_with_n_seats_left_exactly_n_of_many_concurrent_buyers_succeed(aws):
    ticket_type_create("last", available=5)
    buyers = 14

    with ThreadPoolExecutor(buyers) as pool:
        responses = list(
            pool.map(
                lambda n: post_order(
                    Client(),
                    order_body(f"b{n}@example.com", items=[{"sku": "last", "quantity": 1}]),
                ),
                range(buyers),
            )
        )

    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 5 + [409] * (buyers - 5)
    assert all(r.json()["error"]["code"] == "sold_out" for r in responses if r.status_code == 409)
    assert TicketType.get("last").available == 0
    assert len(all_orders()) == 5


def test_asking_for_more_seats_than_left_is_409_and_takes_none(client):
    ticket_type_create("ga", available=3)

    response = post_order(client, order_body(items=[{"sku": "ga", "quantity": 4}]))

    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {"items.0.quantity": ["Not enough seats left."]}
    assert TicketType.get("ga").available == 3
    assert all_orders() == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _silent_server() -> tuple[socket.socket, int]:
    """Accepts connections and never answers: a Stripe that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    threading.Thread(
        target=lambda: [held.append(server.accept()[0]) for _ in range(16)], daemon=True
    ).start()
    return server, server.getsockname()[1]


def _assert_nothing_kept(available: int) -> None:
    assert TicketType.get("ga").available == available
    assert all_orders() == []
    assert list(Payment.status_index.query("requires_payment_method")) == []


def test_stripe_unreachable_answers_503_and_keeps_no_seat_or_order(client, monkeypatch):
    ticket_type_create("ga", available=10)
    monkeypatch.setenv("STRIPE_API_BASE", f"http://127.0.0.1:{_closed_port()}")

    response = post_order(client, order_body())

    assert response.status_code == 503
    assert response["Retry-After"].isdigit()
    assert response.json()["error"]["code"] == "payment_provider_unavailable"
    _assert_nothing_kept(available=10)


def test_stripe_timing_out_answers_503_and_keeps_no_seat_or_order(client, monkeypatch):
    ticket_type_create("ga", available=10)
    server, port = _silent_server()
    monkeypatch.setenv("STRIPE_API_BASE", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("STRIPE_TIMEOUT_SECONDS", "0.5")

    response = post_order(client, order_body())
    server.close()

    assert response.status_code == 503
    _assert_nothing_kept(available=10)


# --- Idempotency-Key ---------------------------------------------------------------------------


def test_the_same_key_and_body_returns_the_first_answer_and_creates_nothing(client):
    ticket_type_create("ga", available=10)

    first = post_order(client, order_body(), **{"Idempotency-Key": "k-1"})
    second = post_order(client, order_body(), **{"Idempotency-Key": "k-1"})

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert len(all_orders()) == 1
    assert TicketType.get("ga").available == 8


def test_the_same_key_with_another_body_is_422(client):
    ticket_type_create("ga", available=10)
    post_order(client, order_body(), **{"Idempotency-Key": "k-2"})

    response = post_order(
        client, order_body(items=[{"sku": "ga", "quantity": 1}]), **{"Idempotency-Key": "k-2"}
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert len(all_orders()) == 1


def test_another_client_with_the_same_key_and_body_never_gets_the_first_answer():
    """Issue 29, F2: the key is scoped to the client (its address): a second client sending
    the first buyer's key and body gets an order of its own, never the first buyer's answer
    with its client secret; the first buyer's retry still gets its own answer back."""
    from django.test import Client

    ticket_type_create("ga", available=10)
    buyer = Client(REMOTE_ADDR="198.51.100.7")
    other = Client(REMOTE_ADDR="203.0.113.9")
    first = post_order(buyer, order_body(), **{"Idempotency-Key": "cart-42"})
    stranger = post_order(other, order_body(), **{"Idempotency-Key": "cart-42"})
    retry = post_order(buyer, order_body(), **{"Idempotency-Key": "cart-42"})

    assert first.status_code == stranger.status_code == retry.status_code == 201
    assert stranger.json()["order_id"] != first.json()["order_id"]
    secret = first.json()["payment"]["client_secret"]
    assert secret not in stranger.content.decode()
    assert retry.json() == first.json()


def test_the_same_key_while_the_first_request_runs_is_409(client):
    from core.idempotency import idempotency_claim

    ticket_type_create("ga", available=10)
    idempotency_claim(
        scope="orders",
        key="k-3",
        payload=order_body(),
        subject_id="ord_inflight00000000000000",
        client="127.0.0.1",  # the test client's address
    )

    response = post_order(client, order_body(), **{"Idempotency-Key": "k-3"})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_in_progress"
    assert all_orders() == []


def test_a_request_that_died_halfway_is_taken_over_after_its_lease(client):
    from core.idempotency import IdempotencyRecord, idempotency_claim

    ticket_type_create("ga", available=10)
    claim = idempotency_claim(
        scope="orders",
        key="k-4",
        payload=order_body(),
        subject_id="ord_takeover0000000000000",
        client="127.0.0.1",
    )
    IdempotencyRecord(pk=claim.pk, sk="RECORD").update(
        actions=[IdempotencyRecord.lease_until.set(0)]
    )

    response = post_order(client, order_body(), **{"Idempotency-Key": "k-4"})

    assert response.status_code == 201
    assert response.json()["order_id"] == "ord_takeover0000000000000"


def test_a_failed_request_frees_its_key_for_a_retry(client, monkeypatch):
    ticket_type_create("ga", available=10)
    monkeypatch.setenv("STRIPE_API_BASE", f"http://127.0.0.1:{_closed_port()}")
    assert post_order(client, order_body(), **{"Idempotency-Key": "k-5"}).status_code == 503
    monkeypatch.undo()

    response = post_order(client, order_body(), **{"Idempotency-Key": "k-5"})

    assert response.status_code == 201
    assert TicketType.get("ga").available == 8


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "naïve"])
def test_a_malformed_idempotency_key_is_400(client, key):
    ticket_type_create("ga")

    response = post_order(client, order_body(), **{"Idempotency-Key": key})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert all_orders() == []


# --- Validation --------------------------------------------------------------------------------

VALID = order_body()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"customer", "items"}),
        ([], {"body"}),
        ("a string", {"body"}),
        ({"customer": {"email": "a@example.com", "name": "A"}}, {"items"}),
        ({**VALID, "items": []}, {"items"}),
        ({**VALID, "items": "ga"}, {"items"}),
        ({**VALID, "items": [{"sku": "ga"}]}, {"items.0.quantity"}),
        ({**VALID, "items": [{"sku": "ga", "quantity": -1}]}, {"items.0.quantity"}),
        ({**VALID, "items": [{"sku": "ga", "quantity": 0}]}, {"items.0.quantity"}),
        ({**VALID, "items": [{"sku": "ga", "quantity": 10**12}]}, {"items.0.quantity"}),
        ({**VALID, "items": [{"sku": "ga", "quantity": "2"}]}, {"items.0.quantity"}),
        ({**VALID, "items": [{"sku": "ga", "quantity": 2.5}]}, {"items.0.quantity"}),
        ({**VALID, "items": [{"sku": "ga", "quantity": True}]}, {"items.0.quantity"}),
        ({**VALID, "items": [{"sku": 7, "quantity": 1}]}, {"items.0.sku"}),
        ({**VALID, "items": [{"sku": "nope", "quantity": 1}]}, {"items.0.sku"}),
        ({**VALID, "items": [{"sku": "old", "quantity": 1}]}, {"items.0.sku"}),
        (
            {**VALID, "items": [{"sku": "ga", "quantity": 1}, {"sku": "ga", "quantity": 1}]},
            {"items"},
        ),
        ({**VALID, "items": [{"sku": f"s{i}", "quantity": 1} for i in range(11)]}, {"items"}),
        ({**VALID, "customer": {"email": "not-an-email", "name": "A"}}, {"customer.email"}),
        ({**VALID, "customer": {"email": ["a@example.com"], "name": "A"}}, {"customer.email"}),
        ({**VALID, "customer": {"email": "a@example.com"}}, {"customer.name"}),
        ({**VALID, "customer": {"email": "a@example.com", "name": 12}}, {"customer.name"}),
        ({**VALID, "customer": {"email": "a@example.com", "name": "A" * 201}}, {"customer.name"}),
        ({**VALID, "customer": "a@example.com"}, {"customer"}),
        ({**VALID, "customer": None}, {"customer"}),
    ],
)
def test_a_malformed_body_is_400_naming_the_fields_and_writes_nothing(client, body, fields):
    ticket_type_create("ga", available=10)
    ticket_type_create("old", active=False)

    response = post_order(client, body)

    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == fields
    assert all_orders() == []
    assert TicketType.get("ga").available == 10


@pytest.mark.parametrize(
    ("content", "content_type", "code"),
    [
        ("{not json", "application/json", "malformed_json"),
        ("", "application/json", "validation_error"),  # an empty body: every field missing
        ("customer=a", "application/x-www-form-urlencoded", "unsupported_media_type"),
        (json.dumps({**VALID, "padding": "x" * 70_000}), "application/json", "body_too_large"),
    ],
)
def test_a_body_that_is_not_small_json_is_refused_clearly(client, content, content_type, code):
    response = client.post("/orders", content, content_type=content_type)

    assert response.status_code in {400, 415}
    assert response.json()["error"]["code"] == code
    assert all_orders() == []


# --- Rate limiting, CORS, metrics ----------------------------------------------------------------


@pytest.fixture
def rate_window():
    """Start in a fresh one-minute rate window: calls that straddle a boundary count in two."""
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < 20:  # a handful of orders take a few seconds on a loaded machine
        time.sleep(left + 0.1)


def test_orders_are_rate_limited_per_client_across_containers(aws, client, rate_window):
    boto3.client("ssm", endpoint_url=aws.aws_url).put_parameter(
        Name="/ticketstoheaven/local/orders_rate_limit_per_minute",
        Value="3",
        Type="String",
        Overwrite=True,
    )
    ticket_type_create("ga", available=None)
    # Each Client stands for another container: the count must be shared through DynamoDB.
    answers = [post_order(Client(REMOTE_ADDR="203.0.113.7"), order_body()) for _ in range(4)]
    other_client = post_order(Client(REMOTE_ADDR="203.0.113.8"), order_body())

    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert answers[3].json()["error"]["code"] == "rate_limited"
    assert 1 <= int(answers[3]["Retry-After"]) <= 60
    assert other_client.status_code == 201


def test_buyers_behind_one_cloudfront_edge_each_get_their_own_rate_limit(aws, rate_window):
    boto3.client("ssm", endpoint_url=aws.aws_url).put_parameter(
        Name="/ticketstoheaven/local/orders_rate_limit_per_minute",
        Value="2",
        Type="String",
        Overwrite=True,
    )
    ticket_type_create("ga", available=None)
    edge = "130.176.0.10"  # every request reaches API Gateway from the same CloudFront edge

    def through_cloudfront(viewer: str, origin_secret: str = aws.secrets.origin_verify_secret):
        headers = {"CloudFront-Viewer-Address": f"{viewer}:51234", "X-Origin-Verify": origin_secret}
        return Client(REMOTE_ADDR=edge, headers=headers)

    alice = [post_order(through_cloudfront("198.51.100.1"), order_body()) for _ in range(3)]
    bob = post_order(through_cloudfront("2001:db8::7"), order_body())
    # Without our distribution's secret the header is the caller's own word: not believed, the
    # caller is the address API Gateway saw (here the edge's, whose bucket alice's calls used).
    forged = post_order(through_cloudfront("192.0.2.99", origin_secret="guess"), order_body())

    assert [a.status_code for a in alice] == [201, 201, 429]
    assert bob.status_code == 201
    assert forged.status_code == 201  # the edge's own bucket: one call so far
    direct = [post_order(Client(REMOTE_ADDR=edge), order_body()) for _ in range(2)]
    assert [a.status_code for a in direct] == [201, 429]  # the same bucket as the forged call


def test_a_stage_without_an_origin_secret_believes_no_viewer_address(aws, rate_window):
    from core.config import config_cache_clear

    boto3.client("secretsmanager", endpoint_url=aws.aws_url).delete_secret(
        SecretId="ticketstoheaven/local/origin", ForceDeleteWithoutRecovery=True
    )
    config_cache_clear()
    boto3.client("ssm", endpoint_url=aws.aws_url).put_parameter(
        Name="/ticketstoheaven/local/orders_rate_limit_per_minute",
        Value="1",
        Type="String",
        Overwrite=True,
    )
    ticket_type_create("ga", available=None)

    answers = [
        post_order(
            Client(
                REMOTE_ADDR="130.176.0.10",
                headers={
                    "CloudFront-Viewer-Address": f"198.51.100.{n}:443",
                    "X-Origin-Verify": aws.secrets.origin_verify_secret,
                },
            ),
            order_body(),
        )
        for n in (1, 2)
    ]

    assert [a.status_code for a in answers] == [201, 429]


@override_settings(CORS_ALLOWED_ORIGINS=["https://shop.example.com"])
def test_cors_allows_only_the_storefront_origin(client):
    allowed = client.options(
        "/orders",
        headers={"Origin": "https://shop.example.com", "Access-Control-Request-Method": "POST"},
    )
    refused = client.get("/catalog", headers={"Origin": "https://evil.example.com"})

    assert allowed["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "idempotency-key" in allowed["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in refused


def test_orders_created_and_rejected_are_emitted_as_embedded_metrics(client, capfd):
    ticket_type_create("ga", available=2)
    post_order(client, order_body())
    post_order(client, order_body())

    out = capfd.readouterr().out
    metrics = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    created = [m for m in metrics if "OrdersCreated" in m]
    rejected = [m for m in metrics if "OrdersRejected" in m]
    assert (
        len(created) == 1
        and created[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "TicketsToHeaven"
    )
    assert len(rejected) == 1 and rejected[0]["reason"] == "sold_out"
