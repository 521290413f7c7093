"""Lambda SnapStart: what is snapshotted, and what every restored environment makes fresh.

With ``"snap_start": "PublishedVersions"`` (docs/deploy.md), Lambda runs the init phase once per
published version, snapshots the memory, and starts later environments from the snapshot.
Everything in memory at that point is shared by every environment restored from it, so:

- **before the snapshot** (``before_snapshot``): the storefront's URLconf and views are
  imported (the work a cold first request would do), and no AWS, Stripe or vendor client is
  kept: a client made now would carry the init phase's credentials and sockets into every copy;
- **after each restore** (``after_restore``): Python's ``random`` is re-seeded from the OS
  (every copy would otherwise draw the same numbers; ``secrets``/``uuid4`` read ``os.urandom``
  and need nothing), the secrets and parameters cache is dropped (re-read from Secrets Manager
  and SSM on next use: a rotation since the snapshot is seen at once), the boto3 clients and
  PynamoDB connection are dropped (new credentials, new connections), and every app's own
  callbacks run (``on_restore``: the Stripe client, the vendor's sessions).

The hooks are registered through the runtime's hook API (``snapshot_restore_py``), which only
exists in Lambda's Python runtime: elsewhere ``hooks_register`` does nothing and says so. The
project package imports no app: apps add their callbacks with ``on_restore`` from ``ready()``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

logger = logging.getLogger(__name__)

_restore_callbacks: list[Callable[[], None]] = []


def on_restore(callback: Callable[[], None]) -> None:
    """Run ``callback`` in every environment restored from a snapshot (once per callback)."""
    if callback not in _restore_callbacks:
        _restore_callbacks.append(callback)


def before_snapshot() -> None:
    """Load what a first storefront request would load; keep no client in the snapshot."""
    from django.urls import get_resolver

    from core import config, dynamodb

    patterns = get_resolver().url_patterns  # imports the storefront's URLconfs and views
    logger.debug("snapstart: %d URL patterns loaded (the admin's stay lazy)", len(patterns))
    config.config_cache_clear()
    dynamodb.connections_reset()
    for callback in _restore_callbacks:
        callback()
    logger.info("snapstart: ready for the snapshot")


def after_restore() -> None:
    """Make this environment's state its own (see the module docstring)."""
    from core import config, dynamodb

    random.seed()  # from os.urandom
    config.config_cache_clear()
    dynamodb.connections_reset()
    for callback in _restore_callbacks:
        callback()
    logger.info("snapstart: restored")


def hooks_register() -> bool:
    """Register the hooks with Lambda's runtime; ``False`` where there is no such runtime."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:  # not in Lambda (tests, the local server, a plain Lambda runtime)
        return False
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
    return True
