"""Zappa's ``callbacks.zip`` hook: make the package's bytecode valid in Lambda, then check it.

Zappa calls ``zip_bytecode(zappa_cli)`` after it has written the package and before it uploads
it (``zappa deploy``, ``zappa update``, ``zappa package``). The hook rewrites the zip:

1. Every ``.pyc`` Zappa copied is dropped. Zappa writes zip entries dated 1980, so
   timestamp-based ``.pyc`` files never match their sources in ``/var/task``; Python then
   recompiles every module at every cold start and cannot cache the result (read-only).
2. Every ``.py`` gets a ``__pycache__/<name>.cpython-313.pyc`` compiled *here*, with the
   Lambda runtime's interpreter version, as an unchecked hash-based pyc (PEP 552: flags = 1).
   Python loads it without looking at the source's date or hash. Nothing can change the
   source in a read-only package, so "unchecked" is exactly right there, and only there.
3. The package is checked: no test tools, emulators, Zappa's deploy-time dependencies or the
   runtime's own boto3/botocore; the static-files manifest present when the stage uses S3;
   at most ``PACKAGE_MAX_BYTES`` zipped. A failed check stops the deploy before the upload.
"""

from __future__ import annotations

import importlib.util
import marshal
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

# The spec's budget: small enough to upload directly (50 MB) and to unpack fast. 22 MiB since
# the staff's second factor (issue 29): WebAuthn's signatures need ``cryptography`` (about
# 6 MiB zipped, its Rust extension), imported only when a passkey is checked.
PACKAGE_MAX_BYTES = 22 * 1024 * 1024

# Top-level names that must never be in the package. (PyYAML stays: drf-spectacular's
# /schema renderer imports it.)
FORBIDDEN_TOP_LEVEL = frozenset(
    {
        # our own development-only folders
        "tests", "devstack", "bench", "infra", "deploy", "docs", "scripts", "build",
        # test tools and emulators
        "pytest", "_pytest", "moto", "localstripe", "hypothesis", "ruff", "werkzeug_debugger",
        # provided by the Lambda runtime
        "boto3", "botocore", "s3transfer",
        # Zappa's deploy-time dependencies
        "troposphere", "cfn_flip", "setuptools", "pkg_resources", "pip", "wheel",
        "tqdm", "placebo", "hjson", "argcomplete", "slugify", "click", "toml",
        # drf-spectacular's schema validator (only its management command uses it)
        "jsonschema", "jsonschema_specifications", "referencing", "rpds", "attr", "attrs",
    }
)  # fmt: skip
STATIC_MANIFEST = "staticmanifest/staticfiles.json"
# The OpenAPI document the public API's function serves at /schema (tickets.settings_public:
# generated at build time, ``make storefront-client``; no generator runs in Lambda).
API_SCHEMA = "storefront/openapi.json"
PUBLIC_SETTINGS = "tickets.settings_public"
# What only the back office imports (staff passkeys: webauthn, with pyOpenSSL, cryptography and
# their parsers; TOTP; drf-spectacular's YAML): left out of the public API's package. Besides
# size, botocore imports pyOpenSSL (and cryptography, ~50 ms) whenever it is installed, and
# DRF imports PyYAML (~20 ms): every public cold start paid for them. tests/test_public_function
# checks that nothing the public function can import needs them.
BACKOFFICE_ONLY_TOP_LEVEL = frozenset(
    {
        "webauthn", "OpenSSL", "cryptography", "cffi", "_cffi_backend", "pycparser", "pyasn1",
        "pyasn1_modules", "cbor2", "pyotp", "yaml", "_yaml",
    }
)  # fmt: skip


def _distribution(top: str) -> str:
    """``pyOpenSSL-26.4.0.dist-info`` -> ``pyopenssl``; other names unchanged."""
    return top.split("-", 1)[0].lower() if top.endswith(".dist-info") else top


# PEP 552 header flags: bit 0 = hash-based, bit 1 = check the source. 0b01: hash, unchecked.
_UNCHECKED_HASH = 0b01


class PackageError(RuntimeError):
    """The package breaks a rule above; the message says which and how to fix it."""


@dataclass
class BytecodeReport:
    compiled: int
    dropped_pyc: int
    not_compiled: list[str]
    size_before: int
    size_after: int


def _pyc(source: bytes, filename: str) -> bytes:
    code = compile(source, filename, "exec", dont_inherit=True)
    header = importlib.util.MAGIC_NUMBER + _UNCHECKED_HASH.to_bytes(4, "little")
    return header + importlib.util.source_hash(source) + marshal.dumps(code)


def _cache_name(source_name: str) -> str:
    path = PurePosixPath(source_name)
    tag = sys.implementation.cache_tag  # e.g. cpython-313
    return str(path.parent / "__pycache__" / f"{path.stem}.{tag}.pyc")


def runtime_check(runtime: str) -> None:
    """The bytecode is only valid for the interpreter version that wrote it."""
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if runtime != here:
        raise PackageError(
            f"the Lambda runtime is {runtime} but this build runs {here}: bytecode compiled here "
            f"would be ignored in Lambda. Build with {runtime}."
        )


def bytecode_add(zip_path: Path) -> BytecodeReport:
    """Rewrite ``zip_path`` with fresh unchecked-hash ``.pyc`` files beside every ``.py``."""
    size_before = zip_path.stat().st_size
    temporary = zip_path.with_name(zip_path.name + ".partial")
    compiled, dropped, failed = 0, 0, []
    with (
        zipfile.ZipFile(zip_path) as source,
        zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        written: set[str] = set()
        for info in source.infolist():
            if info.filename.endswith(".pyc") or info.filename in written:
                dropped += info.filename.endswith(".pyc")
                continue
            data = source.read(info)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data, compresslevel=9)
            written.add(info.filename)
            if not info.filename.endswith(".py"):
                continue
            try:
                pyc = _pyc(data, f"/var/task/{info.filename}")
            except (SyntaxError, ValueError):
                failed.append(info.filename)  # Python would fail to import it anyway
                continue
            entry = zipfile.ZipInfo(_cache_name(info.filename), date_time=info.date_time)
            entry.create_system = 3
            entry.external_attr = 0o644 << 16
            target.writestr(entry, pyc, zipfile.ZIP_DEFLATED, compresslevel=9)
            compiled += 1
    os.replace(temporary, zip_path)
    return BytecodeReport(compiled, dropped, failed, size_before, zip_path.stat().st_size)


# Their distributions' names (dist-info folders), lower case.
_BACKOFFICE_ONLY_DISTRIBUTIONS = frozenset(
    {"webauthn", "pyopenssl", "cryptography", "cffi", "pycparser", "pyasn1", "pyasn1_modules",
     "cbor2", "pyotp", "pyyaml"}
)  # fmt: skip


def public_package_make(zip_path: Path, project_dir: Path) -> int:
    """Make the package the public API's: without what only the back office imports, with the
    OpenAPI document (``exclude_glob`` leaves the storefront out). How many entries dropped."""
    temporary = zip_path.with_name(zip_path.name + ".public")
    dropped = 0
    with (
        zipfile.ZipFile(zip_path) as source,
        zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        for info in source.infolist():
            top = info.filename.split("/", 1)[0]
            name = top.removesuffix(".py").split(".", 1)[0] if "/" not in info.filename else top
            if (
                name in BACKOFFICE_ONLY_TOP_LEVEL
                or _distribution(top) in _BACKOFFICE_ONLY_DISTRIBUTIONS
            ):
                dropped += 1
                continue
            target.writestr(info, source.read(info), compresslevel=9)
        target.write(project_dir / API_SCHEMA, API_SCHEMA)
    os.replace(temporary, zip_path)
    return dropped


def package_check(
    zip_path: Path, *, static_manifest_required: bool, schema_required: bool = False
) -> None:
    """Raise ``PackageError`` if the package holds something it must not, or lacks the
    manifest or the OpenAPI document its stage needs."""
    with zipfile.ZipFile(zip_path) as package:
        names = package.namelist()
    top = {name.split("/", 1)[0] for name in names}
    found = sorted(top & FORBIDDEN_TOP_LEVEL)
    if found:
        raise PackageError(
            f"the package holds {', '.join(found)}: build it from the deploy environment "
            "(`make package`, or `.venv-deploy/bin/zappa ...` with VIRTUAL_ENV=.venv-deploy), "
            "and keep zappa_settings.json's exclude_glob complete"
        )
    if static_manifest_required and STATIC_MANIFEST not in names:
        raise PackageError(
            f"{STATIC_MANIFEST} is missing: run collectstatic with this stage's settings first "
            "(docs/deploy.md, `make collectstatic`)"
        )
    if schema_required and API_SCHEMA not in names:
        raise PackageError(f"{API_SCHEMA} is missing: the public API serves it at /schema")
    size = zip_path.stat().st_size
    if size > PACKAGE_MAX_BYTES:
        raise PackageError(
            f"the package is {size / 2**20:.1f} MiB zipped, over the "
            f"{PACKAGE_MAX_BYTES / 2**20:.0f} MiB budget: see what grew with `unzip -l`"
        )


def zip_bytecode(zappa_cli: Any) -> None:
    """Zappa's ``callbacks.zip`` entry point (``zappa_cli`` is Zappa's ``ZappaCLI``)."""
    runtime_check(zappa_cli.runtime)
    zip_path = Path(zappa_cli.zip_path)
    report = bytecode_add(zip_path)
    public = zappa_cli.stage_config.get("django_settings") == PUBLIC_SETTINGS
    dropped = public_package_make(zip_path, Path.cwd()) if public else 0
    environment = zappa_cli.stage_config.get("aws_environment_variables", {})
    package_check(
        zip_path,
        static_manifest_required=environment.get("DJANGO_STATIC_STORAGE") == "s3" and not public,
        schema_required=public,
    )
    print(
        f"Bytecode: {report.compiled} modules compiled (unchecked-hash pyc), "
        f"{report.dropped_pyc} stale pyc dropped, {len(report.not_compiled)} not compilable; "
        f"package {report.size_before / 2**20:.1f} -> {zip_path.stat().st_size / 2**20:.1f} MiB"
        + (f" (public API: {dropped} back-office-only files left out)" if public else "")
    )
