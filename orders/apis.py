"""The storefront's REST API: catalog, order creation, order status.

Each API validates, calls one service or selector, and serialises; business rules live in
``orders.services``, reads in ``orders.selectors``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.selectors import catalog_list, order_get
from orders.services.creation import CreatedOrder, OrderLine, order_create_idempotent
from tickets.exceptions import ApplicationError, NotFound
from tickets.metrics import metric_emit
from tickets.ratelimit import DynamoDBRateThrottle
from tickets.serializers import (
    ErrorSerializer,
    StrictCharField,
    StrictEmailField,
    StrictIntegerField,
)

MAX_LINES = 10
MAX_QUANTITY = 20

ERRORS = {
    400: OpenApiResponse(
        ErrorSerializer, description="Invalid body: `fields` names every bad field."
    ),
    404: OpenApiResponse(ErrorSerializer, description="No such order."),
    409: OpenApiResponse(
        ErrorSerializer,
        description="Not enough seats (`sold_out`), or the same Idempotency-Key is still running.",
    ),
    422: OpenApiResponse(ErrorSerializer, description="Idempotency-Key reused with another body."),
    429: OpenApiResponse(
        ErrorSerializer, description="Too many orders from this client; see Retry-After."
    ),
    503: OpenApiResponse(
        ErrorSerializer,
        description="Payment provider unavailable; nothing was kept. See Retry-After.",
    ),
}


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

    @extend_schema(operation_id="catalog_list", responses={200: CatalogEntrySerializer(many=True)})
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

        order_id = serializers.CharField()
        status = serializers.CharField()
        currency = serializers.CharField()
        total_amount = serializers.IntegerField()
        items = OrderItemSerializer(many=True)
        payment = NewOrderPaymentSerializer()
        created_at = serializers.CharField()

    @extend_schema(
        operation_id="order_create",
        request=OrderCreateInputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                location=OpenApiParameter.HEADER,
                required=False,
                description="Same key and body: the first answer again. Kept 24 hours.",
            )
        ],
        responses={
            201: OrderCreatedSerializer,
            **{code: ERRORS[code] for code in (400, 409, 422, 429, 503)},
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.OrderCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        answer = order_create_idempotent(
            idempotency_key=request.headers.get("Idempotency-Key"),
            payload=request.data,
            email=data["customer"]["email"],
            name=data["customer"]["name"],
            phone=data["customer"].get("phone") or None,
            lines=[OrderLine(sku=i["sku"], quantity=i["quantity"]) for i in data["items"]],
            render=self._body,
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
                },
            }
        ).data

    def handle_exception(self, exc: Exception) -> Response:
        reason = getattr(exc, "code", None) or getattr(exc, "default_code", None) or "error"
        if isinstance(exc, ApplicationError) or hasattr(exc, "default_code"):
            metric_emit("OrdersRejected", reason=str(reason))
        return super().handle_exception(exc)


class OrderDetailApi(APIView):
    class OrderStatusSerializer(serializers.Serializer):
        class MaskedCustomerSerializer(serializers.Serializer):
            email = serializers.CharField(help_text="Masked, e.g. j***@example.com.")

        class FulfillmentSerializer(serializers.Serializer):
            class IssuedTicketSerializer(serializers.Serializer):
                ticket_id = serializers.CharField()
                sku = serializers.CharField()
                code = serializers.CharField(allow_null=True)

            status = serializers.CharField(help_text="not_started, pending, fulfilled or failed.")
            tickets = IssuedTicketSerializer(many=True)

        order_id = serializers.CharField()
        status = serializers.CharField()
        currency = serializers.CharField()
        total_amount = serializers.IntegerField()
        refunded_amount = serializers.IntegerField()
        items = OrderItemSerializer(many=True)
        customer = MaskedCustomerSerializer()
        fulfillment = FulfillmentSerializer()
        created_at = serializers.CharField()
        updated_at = serializers.CharField()

    @extend_schema(
        operation_id="order_retrieve", responses={200: OrderStatusSerializer, 404: ERRORS[404]}
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
                        "tickets": [t.attribute_values for t in order.tickets],
                    },
                }
            ).data
        )
