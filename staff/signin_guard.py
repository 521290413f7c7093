"""Slowing down password guessing at the admin's sign-in, with no lock an attacker controls.

What the best admin logins do (OWASP's authentication and credential-stuffing guidance,
django-axes' per-address counting, device cookies), and why (docs/security.md, "Sign-in"):

- **Failures are counted per client address, per known device and per username**, for every
  username typed, existing or not (so the counters say nothing about which accounts exist).
  Counters are items ``SIGNIN#ADDR#{hash}``, ``SIGNIN#DEV#{name hash}`` / ``DEV#{device
  hash}`` and ``SIGNIN#NAME#{hash}`` in the back-office table (hashed: the table holds no
  addresses or typed names); each is forgotten ``STAFF_SIGNIN_WINDOW_SECONDS`` after its last
  failure.
- **Growing delays where the guesses come from, not a lock.** Past
  ``STAFF_SIGNIN_FREE_ATTEMPTS`` failures, an address (or, for a browser that signed in as
  that username before, that *device*) must wait 1 s (``STAFF_SIGNIN_BASE_DELAY_SECONDS``),
  then 2, 4, ... up to ``STAFF_SIGNIN_MAX_DELAY_SECONDS`` after each failure before its next
  try is even looked at. A known device (a signed ``staff_device`` cookie naming the user, left
  by a successful sign-in) is slowed by its own counter, never by its address's: an attacker
  sharing the member's address (an office NAT, a carrier's NAT) cannot hold them.
- **A username under a distributed attack** (past ``STAFF_SIGNIN_ACCOUNT_FREE_ATTEMPTS``
  failures from any addresses) makes nobody wait: a wait per username is exactly the lock-out
  an attacker with many addresses controls. Instead, on a new device, the password step stops
  saying whether the password was right (``signin_under_attack``): every try goes on to the
  second-factor step, where only the right password *and* the right factor let anyone in
  (``staff.signin``). The member gets in within seconds; the attacker learns nothing per guess.
- **The same answer and the same time for everyone.** A refused password gets Django's
  "Please enter the correct username and password" whether the username exists, is disabled
  or does not exist; the backend runs the password hasher once in each case
  (``staff.backends``). A delay answers "Too many failed sign-ins ... wait N seconds" from the
  counters alone, which exist for unknown usernames as for real ones.
- A success forgets the failures of its address (or device), never the username's: those
  are the attack's, and they expire on their own. The admin's **Unlock** forgets the
  username's failures and those of the member's known devices, and hands the admin a
  one-time link for the member (``unlock_link_issue``): opening it makes that browser a known
  device of the member, so no address's delay holds it. Unlock never forgets an address's
  failures: the address a username's failures came from is, during an attack, the
  attacker's. Each failure emits ``StaffSigninFailures`` (an alarm in ``infra/`` watches it);
  no log line names the username or the address.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, UpdateError

from core.backoffice import (
    SIGNIN_ADDRESS,
    SIGNIN_DEVICE,
    SIGNIN_NAME,
    SIGNIN_UNLOCK,
    BackOfficeMeta,
)
from core.client_identity import client_address
from core.dynamodb import Model, condition_failed
from core.metrics import metric_emit

logger = logging.getLogger(__name__)

DEVICE_COOKIE = "staff_device"
_DEVICE_SALT = "staff.signin_guard.device"
_DEVICE_MAX_AGE = 180 * 24 * 3600
UNLOCK_LINK_SECONDS = 3600


class SigninCounter(Model):
    """Failed sign-ins of one address, one known device or one typed username, within the
    window."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)  # SIGNIN#ADDR#{hash}, SIGNIN#NAME#{hash}, SIGNIN#DEV#..
    sk = UnicodeAttribute(range_key=True, default=SIGNIN_ADDRESS.sk)  # DEV#{hash} for a device
    failures = NumberAttribute(default=0)
    last_failure_at = NumberAttribute(default=0)  # epoch seconds
    expires_at = TTLAttribute(null=True)


class UnlockGrant(Model):
    """A one-time unlock link an admin handed to a member (``SIGNIN#UNLOCK#{hash of token}``):
    only the token's hash is stored."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=SIGNIN_UNLOCK.sk)
    username = UnicodeAttribute()
    expires_at = TTLAttribute()


def _digest(kind: str, value: str) -> str:
    # Keyed with the app's secret key: the hashes cannot be reversed by trying addresses.
    key = hashlib.sha256(f"{settings.SECRET_KEY}:{kind}".encode()).digest()
    return hashlib.blake2b(value.encode(), key=key[:32], digest_size=16).hexdigest()


def _normal(username: str) -> str:
    return username.strip().lower()


def _address_key(address: str) -> tuple[str, str]:
    return SIGNIN_ADDRESS.pk(_digest("address", address)), SIGNIN_ADDRESS.sk


def _name_key(username: str) -> tuple[str, str]:
    return SIGNIN_NAME.pk(_digest("name", _normal(username))), SIGNIN_NAME.sk


def _devices_pk(username: str) -> str:
    return SIGNIN_DEVICE.pk(_digest("name", _normal(username)))


def _device_key(username: str, device: str) -> tuple[str, str]:
    return _devices_pk(username), SIGNIN_DEVICE.sk_of(_digest("device", device))


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


def _counts(keys: list[tuple[str, str]], now: float) -> dict[tuple[str, str], _Count]:
    found: dict[tuple[str, str], _Count] = {key: _Count() for key in keys}
    for item in SigninCounter.batch_get(keys):
        expires = item.expires_at.timestamp() if item.expires_at else 0
        if expires > now:  # DynamoDB deletes expired items late: check ourselves
            found[(item.pk, item.sk)] = _Count(int(item.failures), float(item.last_failure_at))
    return found


def _device_of(request: HttpRequest, username: str) -> str | None:
    """The id of this browser as a known device of ``username`` (a valid ``staff_device``
    naming them), or None."""
    value = request.COOKIES.get(DEVICE_COOKIE)
    if not value:
        return None
    try:
        known = signing.loads(value, salt=_DEVICE_SALT, max_age=_DEVICE_MAX_AGE)
    except signing.BadSignature:
        return None
    if isinstance(known, str):  # a cookie of the first version: the username alone
        known = {"u": known, "d": value}
    if not isinstance(known, dict) or known.get("u") != _normal(username):
        return None
    device = known.get("d")
    return device if isinstance(device, str) and device else None


def device_known(request: HttpRequest, username: str) -> bool:
    """Whether this browser signed in as ``username`` before (a valid ``staff_device``)."""
    return _device_of(request, username) is not None


def _source_key(request: HttpRequest, username: str) -> tuple[str, str]:
    """The counter that slows this client: its known device's, else its address's."""
    device = _device_of(request, username)
    if device is not None:
        return _device_key(username, device)
    return _address_key(client_address(request))


def signin_wait(*, request: HttpRequest, username: str, now: float | None = None) -> int:
    """Seconds this client must still wait before a try at ``username`` is looked at; 0 if
    none. Decided from the counters alone, the same for existing and unknown usernames. Only
    where the guesses come from waits (the address, or the known device): never the username,
    whatever the number of addresses that tried it."""
    now = time.time() if now is None else now
    key = _source_key(request, username)
    count = _counts([key], now)[key]
    free = settings.STAFF_SIGNIN_FREE_ATTEMPTS
    remaining = count.last_failure_at + delay_seconds(failures=count.failures, free=free) - now
    return int(remaining) + 1 if remaining > 0 else 0


def signin_under_attack(*, request: HttpRequest, username: str, now: float | None = None) -> bool:
    """Whether ``username`` has had more failures from anywhere than
    ``STAFF_SIGNIN_ACCOUNT_FREE_ATTEMPTS`` and this browser is not a known device of it: then
    the password step must not tell whether the password was right (``staff.signin``)."""
    if device_known(request, username):
        return False
    now = time.time() if now is None else now
    key = _name_key(username)
    return _counts([key], now)[key].failures >= settings.STAFF_SIGNIN_ACCOUNT_FREE_ATTEMPTS


def _failure_add(key: tuple[str, str], now: float) -> None:
    expires_at = datetime.fromtimestamp(now + settings.STAFF_SIGNIN_WINDOW_SECONDS, UTC)
    counter = SigninCounter(pk=key[0], sk=key[1])
    try:
        # Within the window: one more failure, atomically (concurrent guesses all count).
        counter.update(
            actions=[
                SigninCounter.failures.add(1),
                SigninCounter.last_failure_at.set(now),
                SigninCounter.expires_at.set(expires_at),
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
            ]
        )


def signin_failure_record(*, request: HttpRequest, username: str) -> None:
    """Count one refused sign-in (a password or a second factor) against where it came from
    (the address, or the known device) and the typed username."""
    now = time.time()
    _failure_add(_source_key(request, username), now)
    _failure_add(_name_key(username), now)
    metric_emit("StaffSigninFailures")
    logger.info("staff sign-in refused")


def signin_success_record(*, request: HttpRequest, username: str) -> None:
    """Forget the failures of where this sign-in came from (never the username's: those are
    an attacker's as much as anyone's) and remember the device."""
    key = _source_key(request, username)
    SigninCounter(pk=key[0], sk=key[1]).delete()
    device = _device_of(request, username) or secrets.token_urlsafe(16)
    request.staff_device_cookie = signing.dumps(  # type: ignore[attr-defined]
        {"u": _normal(username), "d": device}, salt=_DEVICE_SALT
    )


def signin_failures_clear(*, username: str) -> None:
    """Forget the failed sign-ins typed for ``username`` and those of the member's known
    devices (the admin's Unlock, a new password). Never an address's: the address a
    username's failures came from is, during an attack, the attacker's."""
    key = _name_key(username)
    SigninCounter(pk=key[0], sk=key[1]).delete()
    for device in SigninCounter.query(_devices_pk(username)):
        device.delete()


def signin_failures_of(*, username: str) -> int:
    """Failed sign-ins typed for ``username`` within the window (shown to admins)."""
    key = _name_key(username)
    return _counts([key], time.time())[key].failures


def unlock_link_issue(*, username: str) -> str:
    """A one-time token for ``username``'s unlock link (valid ``UNLOCK_LINK_SECONDS``): the
    admin hands it to the member; only its hash is stored."""
    token = secrets.token_urlsafe(24)
    UnlockGrant(
        pk=SIGNIN_UNLOCK.pk(_digest("unlock", token)),
        username=username,
        expires_at=datetime.now(UTC) + timedelta(seconds=UNLOCK_LINK_SECONDS),
    ).save()
    return token


def unlock_link_use(*, request: HttpRequest, token: str) -> str | None:
    """Spend an unlock token: this browser becomes a known device of its member (so no
    address's delay holds it) and the username is returned; None for an unknown, used or
    expired token."""
    pk = SIGNIN_UNLOCK.pk(_digest("unlock", token[:100]))
    try:
        grant = UnlockGrant.get(pk, SIGNIN_UNLOCK.sk, consistent_read=True)
    except UnlockGrant.DoesNotExist:
        return None
    if grant.expires_at <= datetime.now(UTC):
        return None
    try:
        # The delete is the claim: of two uses of one token, exactly one succeeds.
        grant.delete(condition=UnlockGrant.pk.exists())
    except DeleteError as error:
        if condition_failed(error):
            return None
        raise
    username = grant.username
    request.staff_device_cookie = signing.dumps(  # type: ignore[attr-defined]
        {"u": _normal(username), "d": secrets.token_urlsafe(16)}, salt=_DEVICE_SALT
    )
    logger.info("staff unlock link used")
    return username


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
