"""The deployment package: built by ``zappa package prod`` from a clean copy, small, holding
only what runs in production, with bytecode valid in a read-only ``/var/task``."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import zipfile
from pathlib import Path

import pytest

from deploy.callbacks import PACKAGE_MAX_BYTES

# Zappa's handler needs these of Zappa's dependencies at run time; the rest are deploy-time.
ZAPPA_RUNTIME = {"zappa", "werkzeug", "markupsafe", "durationpy"}


def _requirement_names(dist: str) -> set[str]:
    names = set()
    for requirement in importlib.metadata.requires(dist) or []:
        if "extra ==" in requirement:
            continue
        names.add(re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def _closure(roots: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            todo.extend(_requirement_names(name))
        except importlib.metadata.PackageNotFoundError:
            pass  # a platform-specific requirement not installed here
    return seen


def _top_level_names(dist: str) -> set[str]:
    files = importlib.metadata.distribution(dist).files or []
    return {str(f).split("/", 1)[0] for f in files if not str(f).startswith("..")}


def _runtime_distributions() -> set[str]:
    import tomllib

    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    roots = {
        re.split(r"[\s<>=!~;\[]", dep, maxsplit=1)[0].lower()
        for dep in project["project"]["dependencies"]
    }
    return _closure(roots)


@pytest.fixture(scope="module")
def package(lambda_package: Path) -> zipfile.ZipFile:
    with zipfile.ZipFile(lambda_package) as zf:
        yield zf


@pytest.fixture(scope="module")
def names(package: zipfile.ZipFile) -> set[str]:
    return set(package.namelist())


@pytest.fixture(scope="module")
def top_level(names: set[str]) -> set[str]:
    return {name.split("/", 1)[0] for name in names}


def test_the_package_is_within_the_size_budget(lambda_package):
    assert lambda_package.stat().st_size <= PACKAGE_MAX_BYTES


def test_it_holds_our_apps_zappas_handler_and_the_runtime_dependencies(top_level, names):
    for name in ("tickets", "core", "integrations", "orders", "payments", "staff", "dynamo_admin", "zappa",
                 "werkzeug",
                 "django", "stripe", "pynamodb", "rest_framework", "storages"):  # fmt: skip
        assert name in top_level, name
    # The admin package's templates travel with it (APP_DIRS finds them in Lambda too).
    assert "dynamo_admin/templates/dynamo_admin/change_list.html" in names
    # Lambda's handler is ours (zappa_settings.json's lambda_handler: tickets/lambda_handler.py,
    # with apig-wsgi); it reads the stage's settings module from the zappa_settings.py Zappa
    # writes. Zappa's own handler.py stays beside it (what a stage without lambda_handler runs).
    assert {"tickets/lambda_handler.py", "apig_wsgi/__init__.py", "zappa_settings.py"} <= names
    assert {"handler.py", "django_zappa_app.py"} <= names
    # Django's own staticfiles app survives the excludes (an `exclude` of "staticfiles" would not).
    assert "django/contrib/staticfiles/apps.py" in names
    assert "django/templatetags/static.py" in names


def test_it_holds_no_development_code_or_tools(top_level, names):
    for name in ("tests", "devstack", "bench", "deploy", "infra", "docs", "scripts", ".ci",
                 "pytest", "_pytest", "moto", "localstripe", "hypothesis", "ruff", "uv",
                 "Makefile", "pyproject.toml", "uv.lock", "zappa_settings.json", "manage.py"):  # fmt: skip
        assert name not in top_level, name
    assert not any(n.startswith((".venv", ".git", ".tools")) for n in names)


def test_it_leaves_boto3_and_botocore_to_the_runtime(top_level):
    assert not {"boto3", "botocore", "s3transfer"} & top_level


def test_it_holds_none_of_zappas_deploy_time_dependencies(top_level):
    deploy_only = _closure({"zappa"}) - ZAPPA_RUNTIME - _runtime_distributions()
    assert deploy_only, "zappa's requirements could not be read"
    for dist in deploy_only:
        try:
            found = _top_level_names(dist) & top_level
        except importlib.metadata.PackageNotFoundError:
            continue
        assert not found, f"{dist}: {found}"


def test_static_files_and_translations_stay_out_and_the_manifest_goes_in(package, names):
    assert not any("/static/" in n for n in names)  # served from S3 through CloudFront
    assert not any(n.endswith((".po", ".mo")) for n in names)  # USE_I18N is off
    manifest = json.loads(package.read("staticmanifest/staticfiles.json"))
    hashed = manifest["paths"]["rest_framework/css/bootstrap.min.css"]
    assert re.fullmatch(r"rest_framework/css/bootstrap\.min\.[0-9a-f]{12}\.css", hashed)


def test_no_secret_value_is_baked_into_the_package(package, aws):
    generated = package.read("zappa_settings.py").decode()
    assert "ENVIRONMENT_VARIABLES={'AWS_REGION': 'us-east-2'}" in generated
    for value in vars(aws.secrets).values():
        assert value not in generated


def test_every_module_has_unchecked_hash_bytecode_for_this_python(package, names):
    sources = [n for n in names if n.endswith(".py")]
    assert len(sources) > 1000
    tag = importlib.util.MAGIC_NUMBER
    for source in sources:
        directory, _, filename = source.rpartition("/")
        cached = (
            f"{directory + '/' if directory else ''}__pycache__/{filename[:-3]}.cpython-313.pyc"
        )
        assert cached in names, source
    for source in sources[:: max(1, len(sources) // 200)]:  # the header of a sample, in full
        directory, _, filename = source.rpartition("/")
        cached = (
            f"{directory + '/' if directory else ''}__pycache__/{filename[:-3]}.cpython-313.pyc"
        )
        header = package.read(cached)[:16]
        assert header[:4] == tag
        assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, unchecked
        assert header[8:16] == importlib.util.source_hash(package.read(source))


def test_no_stale_timestamp_bytecode_is_shipped(package, names):
    for name in (n for n in names if n.endswith(".pyc")):
        assert "__pycache__/" in name and name.endswith(".cpython-313.pyc"), name


def test_zappas_own_settings_never_put_a_traceback_in_an_answer(package):
    # Zappa's handler (a stage without lambda_handler) answers an exception that escapes the
    # WSGI app with a 500 whose body carries the traceback when its DEBUG is on, and DEBUG
    # defaults to on (zappa/cli.py). Ours never puts one in an answer.
    settings = package.read("zappa_settings.py").decode()

    assert "DEBUG=False" in settings.replace(" ", "")
    assert "DEBUG=True" not in settings.replace(" ", "")
    assert "LOG_LEVEL='INFO'" in settings.replace(" ", "").replace('"', "'")


def test_the_public_apis_package_leaves_out_what_only_staff_use(
    top_level, names, backoffice_lambda_package
):
    """Two functions: the public API's package (stage ``prod``) has no passkey, TOTP or YAML
    library (botocore and DRF would import pyOpenSSL/cryptography and PyYAML at every cold
    start) and carries the OpenAPI document it serves; the back office's has them all."""
    from deploy.callbacks import API_SCHEMA, BACKOFFICE_ONLY_TOP_LEVEL

    assert not top_level & BACKOFFICE_ONLY_TOP_LEVEL
    assert not [n for n in top_level if n.lower().startswith(("webauthn-", "pyopenssl-", "cryptography-", "pyyaml-"))]  # fmt: skip
    assert API_SCHEMA in names
    with zipfile.ZipFile(backoffice_lambda_package) as backoffice:
        backoffice_top = {n.split("/", 1)[0] for n in backoffice.namelist()}
    assert {"webauthn", "OpenSSL", "cryptography", "pyotp", "yaml"} <= backoffice_top
    assert backoffice_lambda_package.stat().st_size <= PACKAGE_MAX_BYTES
