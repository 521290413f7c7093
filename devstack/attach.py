"""Running management commands against the local stack ``make dev`` started.

``make dev`` writes the stack's environment (emulator addresses, the local stage, fake AWS
credentials; no secret of anyone's) to ``.devstack/stack.json`` while it runs and removes it
when it stops. ``python -m devstack manage COMMAND ...`` (or ``make manage ARGS="COMMAND ..."``)
reads it, checks the stack still answers, and runs ``manage.py COMMAND ...`` with exactly that
environment, so a developer's own AWS credentials can never send the command to real AWS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from devstack.stack import ROOT

STATE = ROOT / ".devstack" / "stack.json"


class StackNotRunning(RuntimeError):
    pass


def stack_state_write(environment: dict[str, str], path: Path = STATE) -> None:
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "environment": environment}, indent=2))
    tmp.replace(path)


def stack_state_remove(path: Path = STATE) -> None:
    path.unlink(missing_ok=True)


def stack_environment(path: Path = STATE) -> dict[str, str]:
    """The running local stack's environment; ``StackNotRunning`` if there is none."""
    try:
        state = json.loads(path.read_text())
        environment = state["environment"]
        endpoint = environment["AWS_ENDPOINT_URL"]
    except (OSError, ValueError, KeyError, TypeError):
        raise StackNotRunning("no local stack is running: start one with `make dev`") from None
    try:
        # Cheap: moto's own data dump walks every item the emulator holds.
        urllib.request.urlopen(f"{endpoint}/_config/devstack-id", timeout=2).close()
    except OSError:
        raise StackNotRunning(
            f"the local stack that wrote {path.relative_to(ROOT)} no longer answers at {endpoint}:"
            " start one with `make dev`"
        ) from None
    return environment


def manage(argv: list[str], path: Path = STATE) -> int:
    """Run ``manage.py argv...`` against the running local stack; its exit status."""
    try:
        environment = stack_environment(path)
    except StackNotRunning as error:
        print(f"devstack manage: {error}", file=sys.stderr)
        return 2
    # The developer's own AWS settings must not leak in: only the stack's.
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STAGE"))}
    command = [sys.executable, str(ROOT / "manage.py"), *argv]
    return subprocess.run(command, cwd=ROOT, env={**base, **environment}, check=False).returncode
