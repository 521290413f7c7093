"""The storefront's REST API: catalog, order creation, order status.

Each API validates, calls one service or selector, and serialises; business rules live in
``orders.services``, reads in ``orders.selectors``.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_docs import extend_schema
from core.api_throttle import DynamoDBRateThrottle
from core.client_identity import client_address
from core.exceptions import ApplicationError, NotFound
from core.metrics import metric_emit
from core.serializers import (
    StrictCharField,
    StrictEmailField,
    StrictIntegerField,
)
from orders import api_schema as doc
from orders.phones import PhoneInvalid, phone_e164
from orders.selectors import catalog_list, order_get
from orders.services.creation import (
    CreatedOrder,
    OrderLine,
    order_create_idempotent,
    order_payment_open,
)
from orders.services.line import LinePlace, line_join, line_status

MAX_LINES = 10
MAX_QUANTITY = 20

# ``API-Version`` (request header) of ``POST /orders``: the original flow (the default, for
# clients written before the on-sale work) opens the PaymentIntent with the order; the deferred
# one (the typed client and the reference checkout) opens it at "Pay", ``POST
# /orders/{id}/payment``. docs/onsale.md says why.
API_VERSION_ORIGINAL = "2025-01-01"
API_VERSION_DEFERRED = "2026-12-07"
API_VERSIONS = (API_VERSION_ORIGINAL, API_VERSION_DEFERRED)


class ApiVersionInvalid(ApplicationError):
    status_code = 400
    code = "invalid_api_version"
    message = f"API-Version must be one of {', '.join(API_VERSIONS)} (or absent)."


def _api_version(request: Request) -> str:
    version = request.headers.get("API-Version", "").strip() or API_VERSION_ORIGINAL
    if version not in API_VERSIONS:
        raise ApiVersionInvalid()
    return version


class OrderItemSerializer(serializers.Serializer):
    sku = serializers.CharField(help_text="The ticket type's sku.")
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_amount = serializers.IntegerField(help_text="Minor units of `currency`.")
    amount = serializers.IntegerField(help_text="unit_amount x quantity.")


class CatalogListApi(APIView):
    class CatalogEntrySerializer(serializers.Serializer):
        sku = serializers.CharField()
        name = serializers.CharField()
        description = serializers.CharField()
        unit_amount = serializers.IntegerField(help_text="Minor units of `currency`.")
        currency = serializers.CharField(help_text="ISO 4217, lower case.")
        available = serializers.IntegerField(
            allow_null=True, help_text="Seats left; null when unlimited."
        )

    @extend_schema(
        operation_id="catalog_list",
        summary="What is on sale",
        description="Active ticket types, prices in minor units and seats left. Cheap: poll it.",
        parameters=[doc.REQUEST_ID_IN, doc.REQUEST_ID],
        responses={
            200: CatalogEntrySerializer(many=True),
            405: doc.METHOD_NOT_ALLOWED,
            406: doc.NOT_ACCEPTABLE,
        },
        examples=[doc.CATALOG_EXAMPLE],
    )
    def get(self, request: Request) -> Response:
        return Response(self.CatalogEntrySerializer(catalog_list(), many=True).data)


class OrderCreateApi(APIView):
    throttle_classes = [DynamoDBRateThrottle]

    class OrderCreateInputSerializer(serializers.Serializer):
        class NewOrderCustomerSerializer(serializers.Serializer):
            email = StrictEmailField(max_length=254)
            name = StrictCharField(max_length=200)
            phone = StrictCharField(
                max_length=32, required=False, allow_null=True, allow_blank=True
            )

            def validate_phone(self, value: str | None) -> str | None:
                """Kept in E.164 (``orders.phones``); a number without its country code or
                not a number at all is a 400 naming the field."""
                if not value or not value.strip():
                    return None
                try:
                    return phone_e164(value)
                except PhoneInvalid as error:
                    raise serializers.ValidationError(str(error)) from None

        class NewOrderLineSerializer(serializers.Serializer):
            sku = StrictCharField(max_length=64)
            quantity = StrictIntegerField(min_value=1, max_value=MAX_QUANTITY)

        customer = NewOrderCustomerSerializer()
        items = NewOrderLineSerializer(many=True, allow_empty=False, max_length=MAX_LINES)

        def validate_items(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            seen: set[str] = set()
            for item in items:
                if item["sku"] in seen:
                    raise serializers.ValidationError(
                        f"sku {item['sku']!r} appears twice; send one line per sku."
                    )
                seen.add(item["sku"])
            return items

    class OrderCreatedSerializer(serializers.Serializer):
        class NewOrderPaymentSerializer(serializers.Serializer):
            payment_intent_id = serializers.CharField()
            client_secret = serializers.CharField(help_text="For Stripe.js to confirm the payment.")

        order_id = serializers.CharField(help_text="Keep it: `GET /orders/{order_id}`.")
        status = doc.OrderStateField(help_text="Always `pending_payment` here.")
        currency = serializers.CharField(help_text="ISO 4217, lower case.")
        total_amount = serializers.IntegerField(help_text="Minor units of `currency`.")
        items = OrderItemSerializer(many=True)
        payment = NewOrderPaymentSerializer(
            allow_null=True,
            help_text=(
                f"API-Version {API_VERSION_ORIGINAL} (the default): the PaymentIntent to "
                f"confirm. API-Version {API_VERSION_DEFERRED}: null; mount the Payment Element "
                'with `total_amount` and `currency`, and at "Pay" get the PaymentIntent from '
                "`POST /orders/{order_id}/payment`."
            ),
        )
        created_at = serializers.CharField()

    @extend_schema(
        operation_id="order_create",
        summary="Create an order and its payment",
        description=(
            "Prices come from the catalog; the seats are held in the same write as the order. "
            f"With `API-Version: {API_VERSION_DEFERRED}` no payment is opened yet (`payment` is "
            "null): mount Stripe's Payment Element with `total_amount` and `currency`, and at "
            '"Pay" call `POST /orders/{order_id}/payment` for the client secret. Without it '
            f"(or with {API_VERSION_ORIGINAL}), pay with Stripe.js and `payment.client_secret`. "
            "Then follow `GET /orders/{order_id}`. "
            "At most 10 lines, one per sku, 1 to 20 tickets each. Rate limited per client "
            "address (`429`)."
        ),
        request=OrderCreateInputSerializer,
        parameters=[
            doc.API_VERSION,
            doc.LINE_TOKEN,
            doc.IDEMPOTENCY_KEY,
            doc.REQUEST_ID_IN,
            doc.REQUEST_ID,
            doc.RETRY_AFTER,
        ],
        responses={
            201: OrderCreatedSerializer,
            **doc.ORDER_CREATE_ERRORS,
            405: doc.METHOD_NOT_ALLOWED,
            406: doc.NOT_ACCEPTABLE,
            415: doc.UNSUPPORTED_MEDIA_TYPE,
        },
        examples=[doc.ORDER_CREATE_REQUEST_EXAMPLE, doc.ORDER_CREATED_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        serializer = self.OrderCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        deferred = _api_version(request) == API_VERSION_DEFERRED
        answer = order_create_idempotent(
            idempotency_key=request.headers.get("Idempotency-Key"),
            # The version is part of what a key promises: the same key in the other version is
            # another request (and the original flow's keys keep their stored hashes).
            payload={**request.data, "api_version": API_VERSION_DEFERRED}
            if deferred
            else request.data,
            email=data["customer"]["email"],
            name=data["customer"]["name"],
            phone=data["customer"].get("phone") or None,
            lines=[OrderLine(sku=i["sku"], quantity=i["quantity"]) for i in data["items"]],
            render=self._body,
            client=client_address(request),
            defer_payment=deferred,
            line_token=request.headers.get("Line-Token"),
        )
        return Response(answer.body, status=answer.status)

    def _body(self, created: CreatedOrder) -> dict[str, Any]:
        order = created.order
        return self.OrderCreatedSerializer(
            {
                **order.attribute_values,
                "items": [item.attribute_values for item in order.items],
                "payment": {
                    "payment_intent_id": order.payment_intent_id,
                    "client_secret": created.client_secret,
                }
                if created.client_secret is not None
                else None,
            }
        ).data

    def handle_exception(self, exc: Exception) -> Response:
        reason = getattr(exc, "code", None) or getattr(exc, "default_code", None) or "error"
        if isinstance(exc, ApplicationError) or hasattr(exc, "default_code"):
            metric_emit("OrdersRejected", reason=str(reason))
        return super().handle_exception(exc)


class OrderPaymentApi(APIView):
    class OrderPaymentSerializer(serializers.Serializer):
        payment_intent_id = serializers.CharField()
        client_secret = serializers.CharField(help_text="For Stripe.js to confirm the payment.")
        amount = serializers.IntegerField(help_text="Minor units: the order's total.")
        currency = serializers.CharField(help_text="ISO 4217, lower case.")

    @extend_schema(
        operation_id="order_payment_open",
        summary="Pay an order: its PaymentIntent",
        description=(
            'The deferred flow\'s second step, when the buyer presses "Pay" (after '
            "`elements.submit()`): the order's PaymentIntent, created now for `amount` and "
            "`currency` (the order's, as the Payment Element was mounted with), then confirm "
            "it with `client_secret`. Idempotent: the same order always gets the same "
            "PaymentIntent. `429 payment_provider_busy`: payments are busy (Stripe's request "
            "budget); nothing changed, send it again after `Retry-After` seconds."
        ),
        request=None,
        parameters=[doc.REQUEST_ID_IN, doc.REQUEST_ID, doc.RETRY_AFTER],
        responses={
            200: OrderPaymentSerializer,
            **doc.ORDER_PAYMENT_ERRORS,
            405: doc.METHOD_NOT_ALLOWED,
            406: doc.NOT_ACCEPTABLE,
        },
    )
    def post(self, request: Request, order_id: str) -> Response:
        opened = order_payment_open(order_id=order_id)
        return Response(
            self.OrderPaymentSerializer(
                {
                    "payment_intent_id": opened.order.payment_intent_id,
                    "client_secret": opened.client_secret,
                    "amount": opened.order.total_amount,
                    "currency": opened.order.currency,
                }
            ).data
        )


class LineSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["waiting", "admitted", "sold_out"],
        help_text=(
            "`waiting`: poll again after `poll_after_seconds`. `admitted`: place the order "
            "with this `token` in the `Line-Token` header. `sold_out`: the line has ended."
        ),
    )
    token = serializers.CharField(help_text="Your place (signed): keep it, send it back.")
    place = serializers.IntegerField(help_text="About how many buyers are ahead of you.")
    estimate_seconds = serializers.IntegerField(help_text="About how long until admitted.")
    poll_after_seconds = serializers.FloatField()


def _line_answer(place: LinePlace, status: int = 200) -> Response:
    body = LineSerializer(place.__dict__).data
    return Response(body, status=status, headers={"Cache-Control": "no-store"})


class LineJoinApi(APIView):
    @extend_schema(
        operation_id="line_join",
        summary="Join an on-sale's line",
        description=(
            "When `POST /orders` answers `403 line_pass_required`, the ticket type is on sale "
            "through a line: join it here, then poll `GET /onsales/{sku}/line` with the token "
            "(first come, first admitted). Your place is in the signed token you get."
        ),
        request=None,
        parameters=[doc.REQUEST_ID_IN, doc.REQUEST_ID],
        responses={201: LineSerializer, 404: doc.LINE_NOT_FOUND, 405: doc.METHOD_NOT_ALLOWED},
    )
    def post(self, request: Request, sku: str) -> Response:
        return _line_answer(line_join(sku=sku), status=201)

    @extend_schema(
        operation_id="line_status",
        summary="Where you are in the line",
        description=(
            "Your place, an estimate, and when to ask again; `admitted` once your turn came. "
            "Costs one read: poll it every `poll_after_seconds`."
        ),
        parameters=[doc.LINE_TOKEN_REQUIRED, doc.REQUEST_ID_IN, doc.REQUEST_ID],
        responses={
            200: LineSerializer,
            403: doc.LINE_TOKEN_INVALID,
            404: doc.LINE_NOT_FOUND,
            405: doc.METHOD_NOT_ALLOWED,
        },
    )
    def get(self, request: Request, sku: str) -> Response:
        return _line_answer(line_status(sku=sku, token=request.headers.get("Line-Token", "")))


class OrderDetailApi(APIView):
    class OrderStatusSerializer(serializers.Serializer):
        class MaskedCustomerSerializer(serializers.Serializer):
            email = serializers.CharField(help_text="Masked, e.g. j***@example.com.")

        class FulfillmentSerializer(serializers.Serializer):
            class IssuedTicketSerializer(serializers.Serializer):
                ticket_id = serializers.CharField()
                sku = serializers.CharField()
                code = serializers.CharField(allow_null=True)
                state = serializers.ChoiceField(
                    choices=["valid", "void"],
                    help_text="`void` once the vendor revoked it (a refund, a lost dispute, a "
                    "canceled event): the gate refuses it.",
                )

            status = doc.FulfillmentStateField()
            tickets = IssuedTicketSerializer(many=True)

        order_id = serializers.CharField()
        status = doc.OrderStateField()
        currency = serializers.CharField(help_text="ISO 4217, lower case.")
        total_amount = serializers.IntegerField(help_text="Minor units of `currency`.")
        refunded_amount = serializers.IntegerField(help_text="Minor units refunded so far.")
        items = OrderItemSerializer(many=True)
        customer = MaskedCustomerSerializer()
        fulfillment = FulfillmentSerializer()
        created_at = serializers.CharField()
        updated_at = serializers.CharField()

    @extend_schema(
        operation_id="order_retrieve",
        summary="Follow an order",
        description=(
            "The order's state (and what to do in it), amounts, masked e-mail, and the tickets "
            "once issued. Poll every 1-2 s while `pending_payment` or `paid`."
        ),
        parameters=[doc.REQUEST_ID_IN, doc.REQUEST_ID],
        responses={
            200: OrderStatusSerializer,
            404: doc.ORDER_NOT_FOUND,
            405: doc.METHOD_NOT_ALLOWED,
            406: doc.NOT_ACCEPTABLE,
        },
        examples=[doc.ORDER_STATUS_EXAMPLE],
    )
    def get(self, request: Request, order_id: str) -> Response:
        order = order_get(order_id=order_id)
        if order is None:
            raise NotFound("No order with this id.")
        return Response(
            self.OrderStatusSerializer(
                {
                    **order.attribute_values,
                    "items": [item.attribute_values for item in order.items],
                    "customer": {"email": order.customer_email_masked},
                    "fulfillment": {
                        "status": order.fulfillment_status,
                        "tickets": [
                            {**t.attribute_values, "state": t.buyer_state} for t in order.tickets
                        ],
                    },
                }
            ).data
        )
