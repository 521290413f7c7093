"""Static files in production: S3 behind CloudFront, with the manifest shipped in the package.

``collectstatic`` (run by an operator with production settings, before ``zappa update``) uploads
every app's static files to the static bucket under ``static/`` with content-hashed names, and
writes ``staticfiles.json`` (original name -> hashed name) into ``STATIC_MANIFEST_DIR``, a
folder of the project that Zappa packs into the Lambda package. At run time ``{% static %}``
reads that local manifest once per container and builds ``https://{custom_domain}/static/...``
URLs without any S3 call; CloudFront serves the files from the bucket.

Locally (and in tests) ``STORAGES`` keeps Django's plain ``StaticFilesStorage`` and
``runserver --insecure`` serves the files from the apps' folders.

A page's URLs come from Django's own manifest lookup (``ManifestFilesMixin``) over the local
manifest and the CloudFront domain, without importing django-storages' S3 backend: that module
probes for an RSA library for CloudFront signed URLs at import and so imports ``cryptography``
(which the back office carries for passkeys), and boto3's S3 pieces, about 40 ms of the admin's
every cold start for a URL that is a string join. Everything else (``collectstatic``'s uploads,
``exists``, ``open``...) goes to ``S3ManifestStaticStorage``, made on first use.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.files.storage import FileSystemStorage, Storage
from django.utils.encoding import filepath_to_uri


class _OnTheDomain(Storage):
    """A storage that only answers URLs: ``{base}{name}`` (S3Storage's URL with a custom domain
    and no query-string signing)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def url(self, name: str | None) -> str:
        return self.base_url + filepath_to_uri(name or "")


class _ManifestURLs(ManifestFilesMixin, _OnTheDomain):
    """Hashed names from the manifest (strict, fragments, DEBUG: Django's rules), on the domain."""


class StaticStorage:
    """``S3ManifestStaticStorage`` whose manifest lives on the local file system, and whose
    URLs need neither it nor S3 (module docstring)."""

    def __init__(self, **options: Any) -> None:
        options.setdefault(
            "manifest_storage", FileSystemStorage(location=settings.STATIC_MANIFEST_DIR)
        )
        self._options = options
        self._s3: Any = None
        domain, location = options.get("custom_domain"), options.get("location", "")
        self._urls = (
            _ManifestURLs(
                f"https://{domain}/{location.strip('/')}/" if location else f"https://{domain}/",
                manifest_storage=options["manifest_storage"],
            )
            if domain and not options.get("cloudfront_key")  # signed URLs: S3Storage's job
            else None
        )

    def _storage(self) -> Any:
        if self._s3 is None:
            from storages.backends.s3 import S3ManifestStaticStorage

            self._s3 = S3ManifestStaticStorage(**self._options)
        return self._s3

    def url(self, name: str | None, force: bool = False) -> str:
        if self._urls is None:  # no CloudFront domain: S3's own URLs
            return self._storage().url(name, force)
        return self._urls.url(name, force)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._storage(), attribute)
