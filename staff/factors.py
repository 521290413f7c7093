"""Second factors of staff accounts: time-based codes (TOTP, RFC 6238, ``pyotp``), passkeys
and security keys (WebAuthn, the ``webauthn`` library), and one-time recovery codes.

Stored in the back-office table beside the account they belong to (one Query reads them all)::

    pk                 sk                      what
    STAFF#{username}   FACTOR#TOTP             the TOTP secret and the last time step used
    STAFF#{username}   FACTOR#KEY#{cred id}    a WebAuthn credential: public key, sign count
    STAFF#{username}   FACTOR#RECOVERY         the recovery codes' salted hashes

- **Required per role**: ``STAFF_SECOND_FACTOR_ROLES`` (``finance,admin`` by default: the roles
  that move money or manage accounts). Anyone who has a factor is asked for it, whatever the
  role. A member of a role that requires one and has none enrolls at their next sign-in.
- **A TOTP code counts once**: the step it belongs to is kept, and a code of that step or an
  earlier one is refused (RFC 6238 section 5.2), so a code read over a shoulder is spent. The
  step before and after now are accepted (clock drift).
- **Recovery codes**: ten, 80 random bits each, shown once at enrollment; each works once
  (removed by a conditional update, so two concurrent uses cannot both pass). Stored as
  salted SHA-256 hashes: the codes are random, so a slow hash adds nothing.
- **Passkeys are discoverable** (resident keys): the sign-in ceremony names no credential
  (``allowCredentials`` empty), so the page is the same for every username and tells nothing
  about accounts; the credential the browser returns must be one of the pending member's.
- An admin can **reset** a colleague's factors (``factors_reset``: every factor deleted, every
  session ended; the admin action is audited). The member enrolls again at the next sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.exceptions import PutError, UpdateError

from core.backoffice import STAFF_FACTOR, BackOfficeMeta
from core.dynamodb import Model, condition_failed, utc_now_iso
from staff.models import staff_pk

logger = logging.getLogger(__name__)

TOTP = STAFF_FACTOR.sk_of("TOTP")
RECOVERY = STAFF_FACTOR.sk_of("RECOVERY")
KEY_PREFIX = STAFF_FACTOR.sk_of("KEY", "")
RECOVERY_CODES = 10
TOTP_ISSUER = "TicketsToHeaven back office"


class StaffFactor(Model):
    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)  # STAFF#{username}
    sk = UnicodeAttribute(range_key=True)  # FACTOR#...
    kind = UnicodeAttribute(default="factor")
    created_at = UnicodeAttribute(null=True)
    label = UnicodeAttribute(null=True)
    # TOTP
    secret = UnicodeAttribute(null=True)
    last_step = NumberAttribute(null=True)
    # WebAuthn
    public_key = UnicodeAttribute(null=True)  # base64url
    sign_count = NumberAttribute(null=True)
    # Recovery codes: "salt$sha256" each
    codes = UnicodeSetAttribute(null=True)


def factor_required(role: str) -> bool:
    """Whether members of ``role`` must sign in with a second factor."""
    return role in settings.STAFF_SECOND_FACTOR_ROLES


def factors_of(*, username: str) -> list[StaffFactor]:
    """Every factor item of ``username`` (one Query; none for an unknown username)."""
    return list(
        StaffFactor.query(
            staff_pk(username),
            range_key_condition=StaffFactor.sk.startswith(STAFF_FACTOR.sk),
            consistent_read=True,
        )
    )


@dataclass(frozen=True)
class FactorSummary:
    totp: bool
    keys: int
    recovery_left: int

    @property
    def any(self) -> bool:
        return self.totp or self.keys > 0


def factors_summary(factors: list[StaffFactor]) -> FactorSummary:
    return FactorSummary(
        totp=any(f.sk == TOTP for f in factors),
        keys=sum(1 for f in factors if f.sk.startswith(KEY_PREFIX)),
        recovery_left=sum(len(f.codes or ()) for f in factors if f.sk == RECOVERY),
    )


# --- TOTP ------------------------------------------------------------------------------------


def totp_secret_new() -> str:
    import pyotp

    return pyotp.random_base32()


def totp_uri(*, username: str, secret: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (as a QR code or pasted)."""
    import pyotp

    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)


def _totp_step_matching(secret: str, code: str, now: float) -> int | None:
    import pyotp

    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    step = int(now // totp.interval)
    for candidate in (step - 1, step, step + 1):
        if hmac.compare_digest(totp.at(candidate * totp.interval), code):
            return candidate
    return None


def totp_check_new(*, secret: str, code: str) -> bool:
    """Whether ``code`` is a current code of ``secret`` (enrollment: nothing stored yet)."""
    return _totp_step_matching(secret, code, time.time()) is not None


def totp_enroll(*, username: str, secret: str, code: str) -> bool:
    """Store ``secret`` as ``username``'s TOTP factor if ``code`` proves the app has it; the
    step of that code is spent already."""
    step = _totp_step_matching(secret, code, time.time())
    if step is None:
        return False
    factor = StaffFactor(
        pk=staff_pk(username),
        sk=TOTP,
        secret=secret,
        last_step=step,
        label="Authenticator app",
        created_at=utc_now_iso(),
    )
    try:
        factor.save(condition=StaffFactor.pk.does_not_exist())
    except PutError as error:
        if condition_failed(error):
            return False  # one TOTP per account; a second tab enrolled first
        raise
    logger.info("staff factor enrolled", extra={"factor": "totp"})
    return True


def totp_verify(*, factors: list[StaffFactor], code: str) -> bool:
    """Whether ``code`` is a current, unspent code of the TOTP factor among ``factors``."""
    totp = next((f for f in factors if f.sk == TOTP and f.secret), None)
    if totp is None:
        return False
    step = _totp_step_matching(totp.secret or "", code, time.time())
    if step is None:
        return False
    try:
        totp.update(
            actions=[StaffFactor.last_step.set(step)],
            condition=StaffFactor.last_step < step,
        )
    except UpdateError as error:
        if condition_failed(error):
            return False  # this code (or a later one) was used already
        raise
    return True


# --- Recovery codes --------------------------------------------------------------------------


def _code_normal(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _code_hash(code: str, salt: str) -> str:
    return f"{salt}${hashlib.sha256(f'{salt}:{_code_normal(code)}'.encode()).hexdigest()}"


def recovery_codes_new(*, username: str) -> list[str]:
    """Ten new one-time codes (replacing any left), returned once to be shown; only their
    salted hashes are stored."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()  # 80 bits, 16 chars
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    StaffFactor(
        pk=staff_pk(username),
        sk=RECOVERY,
        codes={_code_hash(code, secrets.token_hex(8)) for code in codes},
        label="Recovery codes",
        created_at=utc_now_iso(),
    ).save()
    return codes


def recovery_use(*, factors: list[StaffFactor], code: str) -> bool:
    """Spend one recovery code: True once per code."""
    stored = next((f for f in factors if f.sk == RECOVERY), None)
    if stored is None or not _code_normal(code):
        return False
    for hashed in stored.codes or ():
        salt = hashed.split("$", 1)[0]
        if hmac.compare_digest(_code_hash(code, salt), hashed):
            try:
                stored.update(
                    actions=[StaffFactor.codes.delete({hashed})],
                    condition=StaffFactor.codes.contains(hashed),
                )
            except UpdateError as error:
                if condition_failed(error):
                    return False  # spent by a concurrent sign-in
                raise
            logger.info("staff recovery code used")
            return True
    return False


# --- WebAuthn --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RelyingParty:
    rp_id: str
    origin: str


def relying_party(request: Any) -> RelyingParty:
    """The relying party: ``STAFF_WEBAUTHN_ORIGIN`` / ``STAFF_WEBAUTHN_RP_ID`` when set; else
    the admin's public origin, the first of ``CSRF_TRUSTED_ORIGINS`` (in AWS, the CloudFront
    distribution's, from infra/outputs.tf: Lambda sees API Gateway's host, not the one the
    browser shows); else (locally) the host the page was served from, which
    ``ALLOWED_HOSTS`` vouches for."""
    from urllib.parse import urlsplit

    trusted = list(settings.CSRF_TRUSTED_ORIGINS or [])
    origin = settings.STAFF_WEBAUTHN_ORIGIN or (
        trusted[0] if trusted else f"{request.scheme}://{request.get_host()}"
    )
    rp_id = settings.STAFF_WEBAUTHN_RP_ID or (urlsplit(origin).hostname or "")
    return RelyingParty(rp_id=rp_id, origin=origin.rstrip("/"))


def _user_handle(username: str) -> bytes:
    # Not the username itself: an authenticator may show or export the handle.
    return hashlib.sha256(f"ticketstoheaven-staff:{username}".encode()).digest()


def passkey_registration_options(
    *, request: Any, username: str, factors: list[StaffFactor]
) -> tuple[str, str]:
    """(options JSON for ``navigator.credentials.create``, the challenge to keep)."""
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        PublicKeyCredentialDescriptor,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    party = relying_party(request)
    options = generate_registration_options(
        rp_id=party.rp_id,
        rp_name=TOTP_ISSUER,
        user_name=username,
        user_id=_user_handle(username),
        user_display_name=username,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(f.sk[len(KEY_PREFIX) :]))
            for f in factors
            if f.sk.startswith(KEY_PREFIX)
        ],
    )
    return options_to_json(options), bytes_to_base64url(options.challenge)


def passkey_register(
    *, request: Any, username: str, credential: str, challenge: str, label: str = ""
) -> bool:
    """Verify a ``navigator.credentials.create`` answer against ``challenge`` and store the
    credential; False if it does not verify."""
    from webauthn import verify_registration_response
    from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
    from webauthn.helpers.exceptions import InvalidJSONStructure, InvalidRegistrationResponse

    party = relying_party(request)
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(challenge),
            expected_origin=party.origin,
            expected_rp_id=party.rp_id,
        )
    except (InvalidRegistrationResponse, InvalidJSONStructure, ValueError, KeyError, TypeError):
        return False
    StaffFactor(
        pk=staff_pk(username),
        sk=KEY_PREFIX + bytes_to_base64url(verified.credential_id),
        public_key=bytes_to_base64url(verified.credential_public_key),
        sign_count=verified.sign_count,
        label=label[:60] or "Passkey",
        created_at=utc_now_iso(),
    ).save()
    logger.info("staff factor enrolled", extra={"factor": "webauthn"})
    return True


def passkey_authentication_options(*, request: Any) -> tuple[str, str]:
    """(options JSON for ``navigator.credentials.get``, the challenge to keep). The same for
    every username: no credential is named (discoverable credentials)."""
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers import bytes_to_base64url
    from webauthn.helpers.structs import UserVerificationRequirement

    options = generate_authentication_options(
        rp_id=relying_party(request).rp_id,
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options), bytes_to_base64url(options.challenge)


def passkey_verify(
    *, request: Any, factors: list[StaffFactor], credential: str, challenge: str
) -> bool:
    """Whether ``credential`` (a ``navigator.credentials.get`` answer) is a valid assertion
    by one of ``factors``' credentials for ``challenge``; its sign count is stored."""
    import json

    from webauthn import verify_authentication_response
    from webauthn.helpers import base64url_to_bytes
    from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidJSONStructure

    try:
        credential_id = str(json.loads(credential)["rawId"])
    except (ValueError, KeyError, TypeError):
        return False
    stored = next((f for f in factors if f.sk == KEY_PREFIX + credential_id), None)
    if stored is None or not stored.public_key:
        return False
    party = relying_party(request)
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=party.rp_id,
            expected_origin=party.origin,
            credential_public_key=base64url_to_bytes(stored.public_key),
            credential_current_sign_count=int(stored.sign_count or 0),
        )
    except (InvalidAuthenticationResponse, InvalidJSONStructure, ValueError, KeyError, TypeError):
        return False
    stored.update(actions=[StaffFactor.sign_count.set(verified.new_sign_count)])
    return True


# --- Audit -----------------------------------------------------------------------------------


def factor_added_audit(*, username: str, what: str) -> None:
    """An entry in the account's History: who added which factor (never the secret)."""
    from core.audit import audit_record

    audit_record(
        staff=username,
        object_type="staff.staff",
        object_id=username,
        object_repr=username,
        action="factor_added",
        summary=f"{username} added a second factor: {what}.",
    )


# --- Reset -----------------------------------------------------------------------------------


def factors_reset(*, username: str) -> int:
    """Delete every second factor of ``username`` and end their sessions (an admin's reset,
    audited by the admin action); returns how many factors were deleted."""
    from staff.services import staff_sessions_revoke

    factors = factors_of(username=username)
    for factor in factors:
        factor.delete()
    staff_sessions_revoke(username=username)
    logger.info("staff factors reset", extra={"factors": len(factors)})
    return len(factors)
