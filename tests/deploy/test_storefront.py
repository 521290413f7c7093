"""The storefront deploy step (``deploy.storefront``) against the emulator's S3: the files
land with the cache headers CloudFront's policies expect, and with this stage's config."""

from __future__ import annotations

import json

import boto3
import pytest

from deploy.storefront import storefront_upload

pytestmark = pytest.mark.usefixtures("aws")

BUCKET = "ticketstoheaven-prod-storefront"


@pytest.fixture
def s3(aws):
    client = boto3.client(
        "s3",
        endpoint_url=aws.aws_url,
        region_name="us-east-2",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-east-2"}
    )
    return client


@pytest.fixture
def dist(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>t</title>")
    (tmp_path / "assets" / "index-DCVFXuCB.js").write_text("console.log(1)")
    (tmp_path / "assets" / "index-DCVFXuCB.css").write_text("body{}")
    (tmp_path / "assets" / "index-DCVFXuCB.js.map").write_text("{}")
    return tmp_path


def test_hashed_assets_are_immutable_and_html_and_config_short_lived(s3, dist):
    keys = storefront_upload(
        s3=s3,
        bucket=BUCKET,
        dist=dist,
        api_base="https://api.example.com/",
        publishable_key="pk_live_123",
    )

    # Assets first, then the config and the page that point at them.
    assert keys == [
        "assets/index-DCVFXuCB.css",
        "assets/index-DCVFXuCB.js",
        "config.json",
        "index.html",
    ]
    js = s3.head_object(Bucket=BUCKET, Key="assets/index-DCVFXuCB.js")
    assert js["CacheControl"] == "public, max-age=31536000, immutable"
    assert js["ContentType"].startswith(("text/javascript", "application/javascript"))
    html = s3.head_object(Bucket=BUCKET, Key="index.html")
    assert html["CacheControl"] == "public, max-age=60"
    assert html["ContentType"] == "text/html; charset=utf-8"
    config = s3.get_object(Bucket=BUCKET, Key="config.json")
    assert config["CacheControl"] == "public, max-age=60"
    assert json.loads(config["Body"].read()) == {
        "apiBase": "https://api.example.com",
        "stripePublishableKey": "pk_live_123",
        "stripeJsUrl": "https://js.stripe.com/v3/",
    }


def test_a_secret_key_is_refused(s3, dist):
    with pytest.raises(ValueError, match="publishable"):
        storefront_upload(
            s3=s3, bucket=BUCKET, dist=dist, api_base="https://a", publishable_key="sk_live_x"
        )
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
