"""Who is calling: the client's address, also behind CloudFront.

In Lambda, ``REMOTE_ADDR`` is API Gateway's ``requestContext.identity.sourceIp`` (Zappa sets
it). Called directly on the execute-api URL that is the client; behind the distributions in
``infra/`` it is a CloudFront edge, shared by every buyer it serves. CloudFront tells the
origin the viewer's address in ``CloudFront-Viewer-Address`` (``198.51.100.7:46532``, or an
IPv6 address followed by ``:port``), which the origin request policy forwards; a caller that
reaches API Gateway directly could write that header too, so it is believed only when the
request also carries the secret origin header ``X-Origin-Verify`` that only our distributions
add (its value is in the ``origin`` secret, which Terraform writes together with the
distribution's origin header; compared in constant time).
``X-Forwarded-For`` is never trusted. Without a configured origin secret, the header is never
believed: the address is ``sourceIp``.

Used by the storefront's rate limit and the staff sign-in throttle. Must not log addresses.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.http import HttpRequest

ORIGIN_VERIFY_HEADER = "X-Origin-Verify"
VIEWER_ADDRESS_HEADER = "CloudFront-Viewer-Address"
_ORIGIN_VERIFY_META = "HTTP_X_ORIGIN_VERIFY"
_VIEWER_ADDRESS_META = "HTTP_CLOUDFRONT_VIEWER_ADDRESS"


def _viewer_address(value: str) -> str | None:
    """The address part of ``CloudFront-Viewer-Address``, or ``None`` if it is not one."""
    address, _, port = value.strip().rpartition(":")
    if not address or not port.isdigit():
        return None
    try:
        return str(ipaddress.ip_address(address.strip("[]")))
    except ValueError:
        return None


def _came_through_our_distribution(request: HttpRequest) -> bool:
    presented = request.META.get(_ORIGIN_VERIFY_META)
    if not presented:
        return False
    from core.config import origin_verify_secret_get

    expected = origin_verify_secret_get()
    return bool(expected) and hmac.compare_digest(presented.encode(), expected.encode())


def client_address(request: HttpRequest) -> str:
    """The caller's address: CloudFront's viewer address when the request proves it came
    through our distribution, else the address API Gateway saw."""
    viewer = request.META.get(_VIEWER_ADDRESS_META)
    if viewer and _came_through_our_distribution(request):
        address = _viewer_address(viewer)
        if address:
            return address
    return request.META.get("REMOTE_ADDR") or "unknown"
