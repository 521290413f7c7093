#!/usr/bin/env python
"""Django's command-line utility for administrative tasks.

Commands read and write the stage's tables, secrets and parameters. Against the local stack,
run them with ``python -m devstack manage ...`` (``make manage ARGS=...``), which gives them the
stack's environment. Against AWS, name the stage: ``STAGE=prod python manage.py ...``; with no
``STAGE`` and no emulator (``AWS_ENDPOINT_URL``) a command refuses to run rather than guess,
since a developer's own AWS credentials would otherwise send it to a real stage.
"""

import os
import sys

# Commands that touch no AWS resource (``spectacular`` writes the OpenAPI document; it needs
# DJANGO_SECRET_KEY set so the settings do not read Secrets Manager).
OFFLINE_COMMANDS = {"help", "version", "--help", "-h", "--version", "spectacular"}


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    if command not in OFFLINE_COMMANDS and not (
        os.environ.get("STAGE") or os.environ.get("AWS_ENDPOINT_URL")
    ):
        sys.exit(
            f"manage.py {command}: no stage named. For the local stack (make dev running): "
            f"python -m devstack manage {command} ...  For AWS: STAGE=<stage> python manage.py "
            f"{command} ..."
        )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tickets.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
