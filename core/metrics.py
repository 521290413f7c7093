"""Business metrics in CloudWatch's embedded metric format (EMF).

One JSON line on stdout per data point; in Lambda, CloudWatch Logs turns it into a metric in the
``TicketsToHeaven`` namespace with no API call and no added latency. The alarms in ``infra/``
watch these names: OrdersCreated, OrdersRejected, PaymentsSucceeded, PaymentsFailed,
FulfillmentFailures, Disputes, WebhookSignatureFailures, PaymentsOnCanceledOrders,
StaffSigninFailures, PaymentsWithoutWebhook, StripeUnavailable, VendorCircuitOpened,
WebhookEventsFailed, VoidFailures, EmailFailures. ``infra/alarms.tf`` lists every name emitted
(a test checks it), including those no alarm watches (e.g. WebhookEventsDeferred).

Written by hand rather than with Powertools' Metrics (about 140 ms of import) because it is a
single JSON line. Dimensions must be low-cardinality (a reason, never an order id).
"""

from __future__ import annotations

import json
import sys
import time

NAMESPACE = "TicketsToHeaven"


def metric_emit(name: str, value: float = 1, *, unit: str = "Count", **dimensions: str) -> None:
    """Emit one data point of metric ``name``, with optional low-cardinality dimensions."""
    document = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    # With dimensions, also publish the total without them: the alarms watch
                    # the dimensionless metric.
                    "Dimensions": [[], sorted(dimensions)] if dimensions else [[]],
                    "Metrics": [{"Name": name, "Unit": unit}],
                }
            ],
        },
        name: value,
        **dimensions,
    }
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()
