"""Amazon SES, behind one small client: a cached settings object, one function per verb, SES's
answers classified. What an e-mail says and when it is sent belong to the apps
(``orders.services.buyer_mail``); this module only sends.

The sending goes through Django's e-mail API with django-anymail's Amazon SES v2 backend
(``EMAIL_BACKEND``; ``sesv2:SendEmail`` through boto3, so ``AWS_ENDPOINT_URL`` points it at the
local emulator like every other AWS client). The sender address and the SES configuration set
(whose event destination sends bounces and complaints to SNS, then to
``POST /webhooks/ses``) are SSM parameters (``email_sender``, ``email_configuration_set``,
read through ``core.config``).

Bounces come back the other way: SES's configuration set publishes bounce and complaint events
to an SNS topic, whose SQS subscription (``email_events_queue_url``, SSM) this module reads
(``email_events_receive``) for a scheduled job (``orders.services.buyer_mail``
``email_events_drain``): no public endpoint to authenticate, and nothing lost while the job
is down (SQS keeps them 14 days).

Every answer of SES to a send becomes one of three outcomes, and nothing else escapes this module:

- ``Sent``: SES accepted the message (its ``MessageId``);
- ``Retryable``: throttling, SES or the network failing;
- ``Permanent``: SES refused this message (an unverified sender or recipient in the SES
  sandbox, a malformed address, an account paused): sending it again changes nothing.

Must not log an address or a message's content.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config import ConfigurationError, parameters_get

# SES error codes that a later attempt may not meet (AWS's throttling and server errors).
RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "LimitExceededException",
        "ServiceUnavailable",
        "InternalFailure",
        "RequestTimeout",
    }
)


@dataclass(frozen=True)
class EmailSettings:
    sender: str
    configuration_set: str | None
    events_queue_url: str | None


@dataclass(frozen=True)
class Bounce:
    """A hard bounce (SES ``bounceType`` ``Permanent``) or a complaint, for one address."""

    address: str
    reason: str


@dataclass(frozen=True)
class Sent:
    message_id: str


@dataclass(frozen=True)
class Retryable:
    summary: str


@dataclass(frozen=True)
class Permanent:
    summary: str


EmailOutcome = Sent | Retryable | Permanent


def email_settings() -> EmailSettings:
    """The sender and configuration set, from SSM (cached with the other parameters).
    Raises ``ConfigurationError`` if no sender is configured."""
    parameters = parameters_get()
    if not parameters.email_sender:
        raise ConfigurationError("SSM parameter email_sender is not set")
    return EmailSettings(
        sender=parameters.email_sender,
        configuration_set=parameters.email_configuration_set or None,
        events_queue_url=parameters.email_events_queue_url or None,
    )


def _classify(error: Exception) -> EmailOutcome:
    response = getattr(error, "response", None) or {}
    details = response.get("Error", {}) if isinstance(response, dict) else {}
    code = str(details.get("Code") or "")
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    summary = f"{code or type(error.__cause__ or error).__name__}"
    if status:
        summary = f"{status} {summary}"
    message = str(details.get("Message") or "")
    # SES's message names the refused identity at most; it is ours or the buyer's domain.
    summary = f"{summary}: {message[:80]}" if message else summary
    if not code or code in RETRYABLE_CODES or (isinstance(status, int) and status >= 500):
        return Retryable(summary)  # no code: the connection failed before SES answered
    return Permanent(summary)


def email_send(
    *, to: str, subject: str, text: str, html: str, tags: dict[str, str] | None = None
) -> EmailOutcome:
    """Send one message (plain text with an HTML alternative) to ``to``. ``tags``: SES
    message tags (the order id, the kind), echoed in bounce notifications; no personal
    data."""
    from anymail.exceptions import AnymailError
    from django.core.mail import EmailMultiAlternatives

    settings = email_settings()
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.sender, to=[to]
    )
    message.attach_alternative(html, "text/html")
    # Named explicitly (anymail leaves a raw message's sender to SES's parsing of the From
    # header): IAM authorises ses:SendEmail on this identity.
    extra: dict[str, object] = {"FromEmailAddress": settings.sender}
    if settings.configuration_set:
        extra["ConfigurationSetName"] = settings.configuration_set
    if tags:
        extra["EmailTags"] = [{"Name": k, "Value": v} for k, v in tags.items()]
    message.esp_extra = extra  # type: ignore[attr-defined]  # anymail's per-message options
    try:
        message.send()
    except AnymailError as error:
        return _classify(error)
    status = getattr(message, "anymail_status", None)
    message_id = getattr(status, "message_id", None) or ""
    return Sent(message_id=str(message_id))


def _bounces_in(body: str) -> list[Bounce]:
    """The hard bounces and complaints in one SQS message: SNS's envelope around an SES event
    (a configuration set's ``eventType``, or an identity's ``notificationType``). Soft
    (transient) bounces are not the address's fault and are ignored."""
    import json

    try:
        envelope = json.loads(body)
        event = json.loads(envelope["Message"]) if "Message" in envelope else envelope
        kind = event.get("eventType") or event.get("notificationType")
    except (ValueError, TypeError, KeyError, AttributeError):
        return []
    if kind == "Bounce":
        bounce = event.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return []
        said = f"{bounce.get('bounceType')}: {bounce.get('bounceSubType') or 'General'}"
        return [
            Bounce(str(r["emailAddress"]), said)
            for r in bounce.get("bouncedRecipients") or []
            if r.get("emailAddress")
        ]
    if kind == "Complaint":
        complaint = event.get("complaint") or {}
        said = f"complaint: {complaint.get('complaintFeedbackType') or 'marked as spam'}"
        return [
            Bounce(str(r["emailAddress"]), said)
            for r in complaint.get("complainedRecipients") or []
            if r.get("emailAddress")
        ]
    return []


def email_events_receive(*, limit: int = 10) -> list[tuple[str, list[Bounce]]]:
    """Up to ``limit`` (at most 10) messages from the bounce queue, each as its receipt handle
    and the bounces it holds (none for a message of no interest: delete it all the same).
    Empty when no queue is configured."""
    from core.aws import client

    queue_url = email_settings().events_queue_url
    if not queue_url:
        return []
    answer = client("sqs").receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=min(limit, 10), WaitTimeSeconds=0
    )
    return [
        (m["ReceiptHandle"], _bounces_in(m.get("Body") or "")) for m in answer.get("Messages", [])
    ]


def email_event_done(*, receipt_handle: str) -> None:
    """Delete a message read from the bounce queue (applied, or of no interest)."""
    from core.aws import client

    queue_url = email_settings().events_queue_url
    if queue_url:
        client("sqs").delete_message(QueueUrl=queue_url, ReceiptHandle=receipt_handle)
