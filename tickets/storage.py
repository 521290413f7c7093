"""Static files in production: S3 behind CloudFront, with the manifest shipped in the package.

``collectstatic`` (run by an operator with production settings, before ``zappa update``) uploads
every app's static files to the static bucket under ``static/`` with content-hashed names, and
writes ``staticfiles.json`` (original name -> hashed name) into ``STATIC_MANIFEST_DIR``, a
folder of the project that Zappa packs into the Lambda package. At run time ``{% static %}``
reads that local manifest once per container and builds ``https://{custom_domain}/static/...``
URLs without any S3 call; CloudFront serves the files from the bucket.

Locally (and in tests) ``STORAGES`` keeps Django's plain ``StaticFilesStorage`` and
``runserver --insecure`` serves the files from the apps' folders.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from storages.backends.s3 import S3ManifestStaticStorage


class StaticStorage(S3ManifestStaticStorage):
    """``S3ManifestStaticStorage`` whose manifest lives on the local file system."""

    def __init__(self, **options: Any) -> None:
        options.setdefault(
            "manifest_storage", FileSystemStorage(location=settings.STATIC_MANIFEST_DIR)
        )
        super().__init__(**options)
