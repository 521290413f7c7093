"""``python -m deploy {collectstatic,package} --stage prod`` (see ``deploy.build``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from deploy import build


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy")
    parser.add_argument("step", choices=["collectstatic", "package"])
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--project-dir", type=Path, default=build.ROOT)
    parser.add_argument(
        "--output", type=Path, help="zip path (default build/{project}-{stage}.zip)"
    )
    args = parser.parse_args()
    if args.step == "collectstatic":
        build.collectstatic(args.stage, args.project_dir)
        return
    output = args.output or build.ROOT / "build" / f"ticketstoheaven-{args.stage}.zip"
    build.deploy_venv_ensure()
    build.package(args.stage, output, args.project_dir)


if __name__ == "__main__":
    main()
