"""Slowing down password guessing at the admin's sign-in, without a lock an attacker controls.

What the best admin logins do (OWASP's authentication and credential-stuffing guidance,
django-axes' per-address counting, device cookies):

- **Failures are counted per client address and per username**, for every username typed,
  existing or not (so the counters say nothing about which accounts exist). Counters are items
  ``SIGNIN#ADDR#{hash}`` and ``SIGNIN#NAME#{hash}`` in the back-office table (hashed: the table
  holds no addresses or typed names); each is forgotten ``STAFF_SIGNIN_WINDOW_SECONDS`` after
  its last failure.
- **Growing delays, not a lock.** Past ``STAFF_SIGNIN_FREE_ATTEMPTS`` failures from one
  address, that address must wait 1 s (``STAFF_SIGNIN_BASE_DELAY_SECONDS``), then 2, 4, ... up
  to ``STAFF_SIGNIN_MAX_DELAY_SECONDS``
  after each failure before its next try is even looked at. The address that guesses pays; a
  staff member at another address does not notice.
- **A username under a distributed attack** (past ``STAFF_SIGNIN_ACCOUNT_FREE_ATTEMPTS``
  failures from any addresses) gets the same growing delay, except on a device that has
  signed in as that user before: a successful sign-in leaves a signed ``staff_device`` cookie
  naming the user, and with it the username's delay does not apply. So an attacker can make
  a *new* device wait, never keep a staff member out of the browser they use.
- **The same answer and the same time for everyone.** A refused password gets Django's
  "Please enter the correct username and password" whether the username exists, is disabled
  or does not exist; the backend runs the password hasher once in each case
  (``staff.backends``). A delay answers "Too many failed sign-ins ... wait N seconds" from the
  counters alone, which exist for unknown usernames as for real ones.
- A success forgets its address's and its username's failures; setting a new password and the
  admin's "Unlock" action forget the username's, and those of the address its last failure
  came from (the staff member's own, as a rule). Each failure emits ``StaffSigninFailures``
  (an alarm in ``infra/`` watches it); no log line names the username or the address.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError

from tickets.backoffice import BackOfficeMeta
from tickets.client_identity import client_address
from tickets.dynamodb import Model, condition_failed
from tickets.metrics import metric_emit

logger = logging.getLogger(__name__)

DEVICE_COOKIE = "staff_device"
_DEVICE_SALT = "staff.signin_guard.device"
_DEVICE_MAX_AGE = 180 * 24 * 3600


class SigninCounter(Model):
    """Failed sign-ins of one address or one typed username, within the window."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)  # SIGNIN#ADDR#{hash} or SIGNIN#NAME#{hash}
    sk = UnicodeAttribute(range_key=True, default="COUNTER")
    failures = NumberAttribute(default=0)
    last_failure_at = NumberAttribute(default=0)  # epoch seconds
    expires_at = TTLAttribute(null=True)
    # On a username's counter: the (hashed) address counter of its last failure, so the
    # admin's Unlock can also forget the delay of the address the staff member typed from.
    last_address = UnicodeAttribute(null=True)


def _digest(kind: str, value: str) -> str:
    # Keyed with the app's secret key: the hashes cannot be reversed by trying addresses.
    key = hashlib.sha256(f"{settings.SECRET_KEY}:{kind}".encode()).digest()
    return hashlib.blake2b(value.encode(), key=key[:32], digest_size=16).hexdigest()


def _address_key(address: str) -> str:
    return f"SIGNIN#ADDR#{_digest('address', address)}"


def _name_key(username: str) -> str:
    return f"SIGNIN#NAME#{_digest('name', username.strip().lower())}"


def delay_seconds(*, failures: int, free: int) -> float:
    """How long to wait after the last failure: nothing for the first ``free`` failures, then
    ``STAFF_SIGNIN_BASE_DELAY_SECONDS`` (1 s), doubling with each further failure, capped at
    ``STAFF_SIGNIN_MAX_DELAY_SECONDS``."""
    if failures < free:
        return 0.0
    base = settings.STAFF_SIGNIN_BASE_DELAY_SECONDS
    return float(min(settings.STAFF_SIGNIN_MAX_DELAY_SECONDS, base * 2 ** min(failures - free, 30)))


@dataclass(frozen=True)
class _Count:
    failures: int = 0
    last_failure_at: float = 0.0


def _counts(keys: list[str], now: float) -> dict[str, _Count]:
    found: dict[str, _Count] = {key: _Count() for key in keys}
    for item in SigninCounter.batch_get([(key, "COUNTER") for key in keys]):
        expires = item.expires_at.timestamp() if item.expires_at else 0
        if expires > now:  # DynamoDB deletes expired items late: check ourselves
            found[item.pk] = _Count(int(item.failures), float(item.last_failure_at))
    return found


def device_known(request: HttpRequest, username: str) -> bool:
    """Whether this browser signed in as ``username`` before (a valid ``staff_device``)."""
    value = request.COOKIES.get(DEVICE_COOKIE)
    if not value:
        return False
    try:
        known = signing.loads(value, salt=_DEVICE_SALT, max_age=_DEVICE_MAX_AGE)
    except signing.BadSignature:
        return False
    return isinstance(known, str) and known == username.strip().lower()


def signin_wait(*, request: HttpRequest, username: str, now: float | None = None) -> int:
    """Seconds this client must still wait before a try at ``username`` is looked at; 0 if
    none. Decided from the counters alone, the same for existing and unknown usernames."""
    now = time.time() if now is None else now
    address_key, name_key = _address_key(client_address(request)), _name_key(username)
    counts = _counts([address_key, name_key], now)
    waits = [
        counts[address_key].last_failure_at
        + delay_seconds(
            failures=counts[address_key].failures, free=settings.STAFF_SIGNIN_FREE_ATTEMPTS
        )
    ]
    if not device_known(request, username):
        waits.append(
            counts[name_key].last_failure_at
            + delay_seconds(
                failures=counts[name_key].failures,
                free=settings.STAFF_SIGNIN_ACCOUNT_FREE_ATTEMPTS,
            )
        )
    remaining = max(waits) - now
    return int(remaining) + 1 if remaining > 0 else 0


def _failure_add(key: str, now: float, address_key: str | None = None) -> None:
    expires_at = datetime.fromtimestamp(now + settings.STAFF_SIGNIN_WINDOW_SECONDS, UTC)
    counter = SigninCounter(pk=key, sk="COUNTER")
    noted = [SigninCounter.last_address.set(address_key)] if address_key else []
    try:
        # Within the window: one more failure, atomically (concurrent guesses all count).
        counter.update(
            actions=[
                SigninCounter.failures.add(1),
                SigninCounter.last_failure_at.set(now),
                SigninCounter.expires_at.set(expires_at),
                *noted,
            ],
            condition=SigninCounter.expires_at > datetime.fromtimestamp(now, UTC),
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        # None yet, or an expired one DynamoDB has not deleted: start again at one.
        counter.update(
            actions=[
                SigninCounter.failures.set(1),
                SigninCounter.last_failure_at.set(now),
                SigninCounter.expires_at.set(expires_at),
                *noted,
            ]
        )


def signin_failure_record(*, request: HttpRequest, username: str) -> None:
    """Count one refused sign-in against the client's address and the typed username."""
    now = time.time()
    address_key = _address_key(client_address(request))
    _failure_add(address_key, now)
    _failure_add(_name_key(username), now, address_key=address_key)
    metric_emit("StaffSigninFailures")
    logger.info("staff sign-in refused")


def signin_success_record(*, request: HttpRequest, username: str) -> None:
    """Forget the failures of this address and this username, and remember the device."""
    for key in (_address_key(client_address(request)), _name_key(username)):
        SigninCounter(pk=key, sk="COUNTER").delete()
    request.staff_device_cookie = signing.dumps(  # type: ignore[attr-defined]
        username.strip().lower(), salt=_DEVICE_SALT
    )


def signin_failures_clear(*, username: str) -> None:
    """Forget the failed sign-ins typed for ``username`` and those of the address its last
    failure came from (the admin's Unlock, a new password): a staff member who mistyped their
    password into a delay can sign in again at once."""
    key = _name_key(username)
    counter = next(iter(SigninCounter.batch_get([(key, "COUNTER")])), None)
    if counter is not None and counter.last_address:
        SigninCounter(pk=counter.last_address, sk="COUNTER").delete()
    SigninCounter(pk=key, sk="COUNTER").delete()


def signin_failures_of(*, username: str) -> int:
    """Failed sign-ins typed for ``username`` within the window (shown to admins)."""
    key = _name_key(username)
    return _counts([key], time.time())[key].failures


class DeviceCookieMiddleware:
    """Writes the ``staff_device`` cookie a successful sign-in asked for."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        value = getattr(request, "staff_device_cookie", None)
        if value:
            response.set_cookie(
                DEVICE_COOKIE,
                value,
                max_age=_DEVICE_MAX_AGE,
                path="/",
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
