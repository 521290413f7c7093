"""The rehearsal tier runs on the local stack: each of its tests starts from an empty emulator
(the ``aws`` fixture), as in the rest of the suite."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _emulator(aws) -> None:
    """Opt the whole tier into the emulator (``tests/conftest.py``)."""
