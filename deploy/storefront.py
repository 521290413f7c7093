"""Upload the reference checkout's build (``storefront/dist``) to the storefront bucket.

``python -m deploy.storefront --bucket B --api-base URL --publishable-key pk_live_...
[--distribution-id D]`` (docs/deploy.md, "The storefront"), with the operator's AWS
credentials. Order matters, so a visitor never gets a page whose files are not there yet:

1. ``assets/*`` (content-hashed names): ``public, max-age=31536000, immutable``. Old assets
   are not deleted: a page loaded before the deploy keeps working (bucket versioning and its
   lifecycle rule clean up).
2. ``config.json`` for this stage (the API's address, the publishable key, Stripe.js's URL):
   one build serves every stage.
3. ``index.html`` and every other file: ``public, max-age=60``, the HTML cache policy's TTL in
   ``infra/storefront.tf``, so a deploy shows within a minute; with ``--distribution-id`` the
   HTML and config are also invalidated at once.

Must not upload anything but the build, and no secret: the publishable key is public.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import time
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "storefront" / "dist"
ASSET_CACHE = "public, max-age=31536000, immutable"
HTML_CACHE = "public, max-age=60"
STRIPE_JS = "https://js.stripe.com/v3/"


def _content_type(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return (
        f"{kind}; charset=utf-8"
        if kind.startswith("text/") or kind.endswith(("javascript", "json"))
        else kind
    )


def storefront_upload(
    *,
    s3: Any,
    bucket: str,
    dist: Path,
    api_base: str,
    publishable_key: str,
    stripe_js_url: str = STRIPE_JS,
) -> list[str]:
    """Upload ``dist`` and this stage's ``config.json``; returns the keys, in upload order."""
    if not (dist / "index.html").is_file():
        raise FileNotFoundError(f"{dist}/index.html is missing: run `make storefront-build`")
    if not publishable_key.startswith("pk_"):
        raise ValueError("--publishable-key must be a Stripe publishable key (pk_...)")
    files = sorted(p for p in dist.rglob("*") if p.is_file() and p.suffix != ".map")
    assets = [p for p in files if p.relative_to(dist).parts[0] == "assets"]
    pages = [p for p in files if p not in assets and p.name != "config.json"]
    uploaded: list[str] = []
    for path in assets:
        key = path.relative_to(dist).as_posix()
        s3.upload_file(
            str(path),
            bucket,
            key,
            ExtraArgs={"CacheControl": ASSET_CACHE, "ContentType": _content_type(path)},
        )
        uploaded.append(key)
    config = {
        "apiBase": api_base.rstrip("/"),
        "stripePublishableKey": publishable_key,
        "stripeJsUrl": stripe_js_url,
    }
    s3.put_object(
        Bucket=bucket,
        Key="config.json",
        Body=json.dumps(config).encode(),
        CacheControl=HTML_CACHE,
        ContentType="application/json; charset=utf-8",
    )
    uploaded.append("config.json")
    for path in pages:
        key = path.relative_to(dist).as_posix()
        s3.upload_file(
            str(path),
            bucket,
            key,
            ExtraArgs={"CacheControl": HTML_CACHE, "ContentType": _content_type(path)},
        )
        uploaded.append(key)
    return uploaded


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.storefront")
    parser.add_argument("--bucket", required=True, help="terraform output storefront_bucket")
    parser.add_argument("--api-base", required=True, help="the API's https origin")
    parser.add_argument("--publishable-key", required=True, help="Stripe's pk_live_... key")
    parser.add_argument("--distribution-id", help="invalidate /index.html and /config.json")
    parser.add_argument("--dist", type=Path, default=DIST)
    args = parser.parse_args()
    keys = storefront_upload(
        s3=boto3.client("s3"),
        bucket=args.bucket,
        dist=args.dist,
        api_base=args.api_base,
        publishable_key=args.publishable_key,
    )
    print(f"uploaded {len(keys)} objects to s3://{args.bucket}/")
    if args.distribution_id:
        boto3.client("cloudfront").create_invalidation(
            DistributionId=args.distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": 2, "Items": ["/index.html", "/config.json"]},
                "CallerReference": f"storefront-{time.time_ns()}",
            },
        )
        print("invalidated /index.html and /config.json")


if __name__ == "__main__":
    main()
