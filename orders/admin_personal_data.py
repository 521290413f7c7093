"""The customer page's personal-data tools: "Export personal data" (a JSON download) and
"Erase personal data" (an action with a confirmation). Both for finance and admin
(``orders.export_personal_data_customer``, ``orders.erase_customer``); the work is
``orders.services.personal_data``'s, which also audits it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from dynamo_admin.declarations import ObjectAction
from orders.models import Customer
from orders.services.personal_data import (
    ERASURE_REASONS,
    ErasureRefused,
    customer_data_export,
    customer_erase,
    erasure_refusals,
    subject_load,
)

EXPORT_PERMISSION = "orders.export_personal_data_customer"
ERASE_PERMISSION = "orders.erase_customer"


def customer_export_view(model_admin: Any) -> Callable[[HttpRequest, str], HttpResponse]:
    def view(request: HttpRequest, object_id: str) -> HttpResponse:
        if not request.user.has_perm(EXPORT_PERMISSION):
            raise PermissionDenied
        if model_admin.item_by_url_id(object_id) is None:
            raise Http404("No such customer.")
        document = customer_data_export(customer_id=object_id, staff=request.user.get_username())
        response = HttpResponse(
            json.dumps(document, indent=2, ensure_ascii=False, default=str),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="personal-data-{object_id}.json"'
        response["Cache-Control"] = "no-store"
        return response

    return view


class ErasureReasonForm(forms.Form):
    """Why: a choice only. Free text here could name the person again in the audit log."""

    reason = forms.ChoiceField(
        choices=[("", "---------"), *ERASURE_REASONS.items()],
        label="Reason",
        help_text="Kept in the customer's history with your name (none of the erased data).",
    )


def _erase_confirm(customer: Customer, data: dict[str, Any]) -> list[str]:
    """What the erasure will do, or (raising) why it cannot be done now."""
    _, subject = subject_load(customer_id=customer.customer_id)
    refusals = erasure_refusals(subject)
    if refusals:
        raise ErasureRefused("Not erased: " + "; ".join(refusals) + ".")
    count = len(subject.orders)
    return [
        f"The customer's name, e-mail and phone, and the text of every note about them, are "
        f"replaced by the pseudonym “{subject.pseudonym.name}” everywhere: the customer, "
        f"{count} order{'s' if count != 1 else ''}, their payments, the history and the Stripe "
        "events.",
        "The ticket vendor is told to forget them, and our metadata in Stripe naming them is "
        "removed.",
        "Amounts, dates and states stay: revenue, refunds, the dashboard and the CSV export "
        "are unchanged.",
        "This cannot be undone. Export the personal data first if the customer asked for it.",
    ]


def _erase(request: HttpRequest, customer: Customer, data: dict[str, Any]) -> str:
    outcome = customer_erase(
        customer_id=customer.customer_id,
        actor=request.user.get_username(),
        reason=data["reason"],
    )
    return outcome.summary


ERASE_ACTION = ObjectAction(
    "erase",
    "Erase personal data",
    permission=ERASE_PERMISSION,
    run=_erase,
    available=lambda c: not c.erased_at,
    audited_by_service=True,
    confirm=_erase_confirm,
    confirm_form_class=ErasureReasonForm,
    confirm_label="Yes, erase the personal data",
)
