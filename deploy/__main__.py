"""``python -m deploy {settings,collectstatic,package} --stage prod`` (see ``deploy.build``).

``settings --terraform-output outputs.json`` fills the stage in ``zappa_settings.json`` from
``terraform -chdir=infra output -json > outputs.json``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from deploy import build


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy")
    parser.add_argument("step", choices=["settings", "collectstatic", "package"])
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--project-dir", type=Path, default=build.ROOT)
    parser.add_argument(
        "--output", type=Path, help="zip path (default build/{project}-{stage}.zip)"
    )
    parser.add_argument(
        "--terraform-output", type=Path, help="settings: `terraform output -json` saved to a file"
    )
    args = parser.parse_args()
    if args.step == "settings":
        if args.terraform_output is None:
            parser.error("settings needs --terraform-output FILE")
        outputs = json.loads(args.terraform_output.read_text())
        build.settings_from_terraform(args.stage, outputs, args.project_dir)
        print(f"zappa_settings.json: stage {args.stage} filled from {args.terraform_output}")
        return
    if args.step == "collectstatic":
        build.collectstatic(args.stage, args.project_dir)
        return
    output = args.output or build.ROOT / "build" / f"ticketstoheaven-{args.stage}.zip"
    build.deploy_venv_ensure()
    build.package(args.stage, output, args.project_dir)


if __name__ == "__main__":
    main()
