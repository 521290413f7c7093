"""``python -m deploy STEP --stage prod``: building and deploying (``deploy.build``) and the
day-two operations (``deploy.operations``; docs/runbook.md; restoring tables is
``manage.py restore_tables``).

``settings --terraform-output outputs.json`` fills the stage and its back office's
(``{stage}-backoffice``) in ``zappa_settings.json`` from
``terraform -chdir=infra output -json > outputs.json``; ``api-logging`` reads the same file."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

from deploy import build

STEPS = ["settings", "collectstatic", "package", "api-logging", "release", "rollback", "smoke"]


def _outputs(path: Path | None, parser: argparse.ArgumentParser, step: str) -> dict:
    if path is None:
        parser.error(f"{step} needs --terraform-output FILE")
    return {
        k: v["value"] if isinstance(v, dict) and "value" in v else v
        for k, v in json.loads(path.read_text()).items()
    }


def _git_describe() -> str:
    git = shutil.which("git")
    if git is None:
        return ""
    result = subprocess.run(
        [git, "describe", "--always", "--dirty"], cwd=build.ROOT, capture_output=True, text=True
    )
    return result.stdout.strip() if result.returncode == 0 else ""


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy")
    parser.add_argument("step", choices=STEPS)
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--project-dir", type=Path, default=build.ROOT)
    parser.add_argument(
        "--output", type=Path, help="zip path (default build/{project}-{stage}.zip)"
    )
    parser.add_argument(
        "--terraform-output",
        type=Path,
        help="settings, api-logging: `terraform output -json` saved to a file",
    )
    parser.add_argument(
        "--note", default=None, help="release: what is released (default: git describe)"
    )
    parser.add_argument(
        "--to-version", default=None, help="rollback: a version (default: the previous release)"
    )
    parser.add_argument("--base-url", help="smoke: the stage's https:// address (admin_url)")
    parser.add_argument("--order", action="store_true", help="smoke: also a test-mode order")
    args = parser.parse_args()
    config = build.stage_config(args.stage, args.project_dir)
    where = {"project": config["project_name"], "stage": args.stage, "region": config["aws_region"]}
    if args.step == "settings":
        outputs = json.loads(_require(args.terraform_output, parser, "settings").read_text())
        build.settings_from_terraform(args.stage, outputs, args.project_dir)
        print(
            f"zappa_settings.json: stages {args.stage} and {args.stage}{build.BACKOFFICE_SUFFIX} "
            f"filled from {args.terraform_output}"
        )
        return
    if args.step == "collectstatic":
        build.collectstatic(args.stage, args.project_dir)
        return
    if args.step == "package":
        output = args.output or build.ROOT / "build" / f"ticketstoheaven-{args.stage}.zip"
        build.deploy_venv_ensure()
        build.package(args.stage, output, args.project_dir)
        return
    if args.step == "smoke":
        from deploy.smoke import SmokeFailed, http_sender, smoke

        if not args.base_url:
            parser.error("smoke needs --base-url https://...")
        try:
            print(json.dumps(smoke(http_sender(args.base_url), order=args.order)))
        except SmokeFailed as failure:
            raise SystemExit(f"smoke test failed: {failure}") from None
        return
    from deploy import operations

    if args.step == "api-logging":
        outputs = _outputs(args.terraform_output, parser, "api-logging")
        stage = operations.api_logging(**where, outputs=outputs)
        print(
            json.dumps(
                {k: stage.get(k) for k in ("stageName", "accessLogSettings", "methodSettings")},
                indent=2,
                default=str,
            )
        )
    elif args.step == "release":
        print(json.dumps(operations.release(**where, note=args.note or _git_describe())))
    elif args.step == "rollback":
        print(
            json.dumps(
                operations.rollback(**where, to_version=args.to_version), indent=2, default=str
            )
        )


def _require(path: Path | None, parser: argparse.ArgumentParser, step: str) -> Path:
    if path is None:
        parser.error(f"{step} needs --terraform-output FILE")
    return path


if __name__ == "__main__":
    main()
