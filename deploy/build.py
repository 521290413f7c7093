"""Build steps an operator (and the tests) run before ``zappa deploy``/``zappa update``.

- ``python -m deploy collectstatic --stage prod``: ``manage.py collectstatic`` with the stage's
  Lambda variables from ``zappa_settings.json`` (S3 bucket, CloudFront domain) and the
  operator's own AWS credentials: uploads to S3, writes ``staticmanifest/staticfiles.json``.
- ``python -m deploy package --stage prod``: ``zappa package`` run from the deploy environment
  ``.venv-deploy`` (runtime dependencies + Zappa, no development tools, built from ``uv.lock``),
  so the package holds only what runs in production; the ``callbacks.zip`` hook
  (``deploy.callbacks``) adds the bytecode and checks the result. No network: Zappa's PyPI
  look-up for manylinux wheels is off (``use_precompiled_packages: false``), the venv's
  wheels are the Linux x86_64 ones uv installed.

Both take ``--project-dir`` so a test can build from a clean copy of the project.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY_VENV = ROOT / ".venv-deploy"
SETTINGS_FILE = "zappa_settings.json"


def stage_config(stage: str, project_dir: Path = ROOT) -> dict:
    """The stage's settings from ``zappa_settings.json``, with ``extends`` resolved."""
    settings = json.loads((project_dir / SETTINGS_FILE).read_text())
    config = dict(settings[stage])
    parent = config.pop("extends", None)
    if parent:
        config = {**stage_config(parent, project_dir), **config}
    return config


def stage_environment(stage: str, project_dir: Path = ROOT) -> dict[str, str]:
    """The Lambda variables (``aws_environment_variables``) of ``stage``."""
    return dict(stage_config(stage, project_dir).get("aws_environment_variables", {}))


# What Lambda calls when ``lambda_handler`` is not set: Zappa's own handler.
ZAPPA_HANDLER = "handler.lambda_handler"


def stage_handler(stage: str, project_dir: Path = ROOT) -> str:
    """The function Lambda calls for ``stage`` (``lambda_handler``; tickets/lambda_handler.py)."""
    return stage_config(stage, project_dir).get("lambda_handler", ZAPPA_HANDLER)


BACKOFFICE_SUFFIX = "-backoffice"


def settings_from_terraform(stage: str, outputs: dict, project_dir: Path = ROOT) -> dict:
    """Fill both functions' stages in ``zappa_settings.json`` from ``terraform -chdir=infra
    output -json`` (the identifiers Terraform created: roles, buckets, queue, domain; never a
    secret): ``stage`` (the public API) and ``{stage}-backoffice`` (the back office), each with
    its own role. Returns the public stage's resolved settings. Other keys and stages are left
    as they are."""
    values = {
        k: v["value"] if isinstance(v, dict) and "value" in v else v for k, v in outputs.items()
    }
    path = project_dir / SETTINGS_FILE
    settings = json.loads(path.read_text())
    roles = {
        stage: values["public_role_arn"],
        stage + BACKOFFICE_SUFFIX: values["backoffice_role_arn"],
    }
    for name, role in roles.items():
        if name not in settings:
            raise SystemExit(f"zappa_settings.json has no stage {name}")
        resolved = stage_config(name, project_dir)
        expected = f"{resolved['project_name']}-{stage}-" + (
            "backoffice" if name != stage else "public"
        )
        if role.rsplit("/", 1)[-1] != expected:
            raise SystemExit(f"these outputs are not stage {stage}'s: {role}")
        env = dict(resolved.get("aws_environment_variables", {}))
        hosts = [h for h in env.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h]
        admin_domain = values["admin_domain"]
        admin_host = values["admin_url"].removeprefix("https://")
        if admin_host != admin_domain and admin_host not in hosts:
            hosts.append(admin_host)  # a custom admin domain
        env.update(
            {
                "DJANGO_ALLOWED_HOSTS": ",".join(hosts),
                "DJANGO_CSRF_TRUSTED_ORIGINS": values["admin_url"],
                "DJANGO_STATIC_BUCKET": values["static_bucket"],
                "DJANGO_STATIC_CUSTOM_DOMAIN": admin_host,
            }
        )
        settings[name].update(
            {
                "aws_region": values["region"],
                "role_arn": role,
                "s3_bucket": values["deployment_bucket"],
                "dead_letter_arn": values["async_failure_queue_arn"],
                "memory_size": values["lambda_memory_mb"],
                "timeout_seconds": values["lambda_timeout_seconds"],
                "aws_environment_variables": env,
            }
        )
    path.write_text(json.dumps(settings, indent=4) + "\n")
    return stage_config(stage, project_dir)


def _uv() -> str:
    candidates = (
        os.environ.get("UV"),
        str(ROOT / ".tools/bin/uv"),
        str(Path(sys.executable).parent / "uv"),  # the dev group's uv
        shutil.which("uv"),
    )
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise SystemExit("uv not found: run `make env` first (or set UV=/path/to/uv)")


def deploy_venv_ensure(venv: Path = DEPLOY_VENV) -> Path:
    """Create or refresh the deploy environment from the lock file (offline once cached)."""
    subprocess.run(
        [
            _uv(),
            "sync",
            "--frozen",
            "--no-default-groups",
            "--group",
            "deploy",
            "--python",
            sys.executable,
        ],
        cwd=ROOT,
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never"},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return venv


def zappa_environment(venv: Path = DEPLOY_VENV) -> dict[str, str]:
    """Environment in which ``zappa`` packs ``venv``'s site-packages (Zappa reads VIRTUAL_ENV)."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def package(stage: str, output: Path, project_dir: Path = ROOT, venv: Path = DEPLOY_VENV) -> Path:
    """``zappa package {stage}`` into ``output``; returns the zip's path."""
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    subprocess.run(
        [str(venv / "bin/zappa"), "package", stage, "--output", str(output)],
        cwd=project_dir,
        env=zappa_environment(venv),
        check=True,
    )
    return output


def collectstatic(stage: str, project_dir: Path = ROOT, extra_env: dict | None = None) -> None:
    """``manage.py collectstatic`` with the stage's storage settings (uploads to its bucket)."""
    env = {**os.environ, **stage_environment(stage, project_dir), **(extra_env or {})}
    env["DJANGO_STATIC_MANIFEST_DIR"] = str(project_dir / "staticmanifest")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "1"],
        cwd=project_dir,
        env=env,
        check=True,
    )


# What a clean checkout holds that a build must not see (local state of a developer's tree).
_NOT_COPIED = (".git", ".venv*", ".tools", "build", "staticfiles", "staticmanifest", "__pycache__",
               ".ruff_cache", ".pytest_cache", ".hypothesis", ".devstack", "lambda_local", "*.zip",
               "node_modules", "artifacts")  # fmt: skip


def project_copy(target: Path) -> Path:
    """Copy the project's files (not its venvs, builds or caches) to ``target``: a clean tree
    to build from, as CI's checkout would be."""
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(*_NOT_COPIED), symlinks=True)
    return target
