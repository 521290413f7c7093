"""Management commands reach the local stack through one obvious command, and never a real AWS
stage nobody named."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import redirect_stderr

from devstack.attach import manage, stack_state_write
from devstack.stack import ROOT
from staff.services import staff_get


def _developer_env(**extra: str) -> dict[str, str]:
    """A developer's shell: their own AWS credentials and region, no emulator, no stage."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return {
        **keep,
        "AWS_ACCESS_KEY_ID": "AKIAREALLOOKINGKEY00",
        "AWS_SECRET_ACCESS_KEY": "not-a-real-secret-but-it-looks-like-one",
        "AWS_REGION": "us-east-2",
        **extra,
    }


def test_manage_py_refuses_to_guess_a_stage_and_says_what_to_run():
    result = subprocess.run(
        [sys.executable, "manage.py", "createstaff", "--username", "sam"],
        cwd=ROOT,
        env=_developer_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) <= 2, result.stderr
    assert "python -m devstack manage createstaff" in result.stderr
    assert "STAGE=<stage>" in result.stderr


def test_without_a_running_stack_devstack_manage_says_to_start_one(tmp_path):
    error = io.StringIO()
    with redirect_stderr(error):
        status = manage(["createstaff"], path=tmp_path / "stack.json")

    assert status == 2
    assert "no local stack is running: start one with `make dev`" in error.getvalue()


def test_devstack_manage_runs_the_command_against_the_running_stack(aws, tmp_path):
    state = tmp_path / "stack.json"
    stack_state_write(aws.environment(), path=state)
    password = tmp_path / "pw"
    password.write_text("a perfectly long passphrase\n")

    with open(password) as stdin:
        status = subprocess.run(
            [
                sys.executable, "-c",
                "import sys; from devstack.attach import manage; sys.exit(manage(sys.argv[1:], "
                f"path=__import__('pathlib').Path({str(state)!r})))",
                "createstaff", "--username", "sam", "--email", "sam@staff.example",
                "--role", "support", "--password-stdin",
            ],
            cwd=ROOT, env=_developer_env(STAGE="prod", PYTHONPATH=str(ROOT)), stdin=stdin,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    assert status.returncode == 0, status.stderr[-2000:]
    sam = staff_get(username="sam")
    assert sam is not None and sam.role == "support"
