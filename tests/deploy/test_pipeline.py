"""The deploy pipeline (.github/workflows/deploy.yml): its order, its credentials, and the
two linters `make lint` runs on it, shown able to fail."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def _runs(job: dict) -> list[str]:
    return [step.get("run", "") for step in job["steps"]]


def test_tests_then_staging_then_approved_prod(workflow):
    jobs = workflow["jobs"]
    assert jobs["staging"]["needs"] == "test"
    assert jobs["production"]["needs"] == "staging"
    assert jobs["staging"]["environment"] == "staging"
    # The approval is the production environment's required reviewers (docs/deploy.md).
    assert jobs["production"]["environment"] == "production"
    assert any("make test" in run for run in _runs(jobs["test"]))


def test_each_stage_is_packaged_updated_released_and_smoked_with_rollback_on_failure(workflow):
    for name, stage_order in (("staging", True), ("production", False)):
        runs = "\n".join(_runs(workflow["jobs"][name]))
        for step in ("make package", "zappa update", "deploy release", "deploy smoke"):
            assert step in runs, (name, step)
        assert runs.index("make package") < runs.index("zappa update") < runs.index("deploy smoke")
        assert ("--order" in runs) is stage_order  # a test-mode order in staging only
        (rollback,) = [s for s in workflow["jobs"][name]["steps"] if "rollback" in s.get("run", "")]
        assert rollback["if"] == "failure()"


def test_aws_credentials_come_from_oidc_and_no_key_is_stored(workflow):
    text = WORKFLOW.read_text()
    assert "AWS_SECRET_ACCESS_KEY" not in text and "aws-secret-access-key" not in text
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        writes_token = job.get("permissions", {}).get("id-token") == "write"
        assumes = any("configure-aws-credentials" in s.get("uses", "") for s in job["steps"])
        assert writes_token == assumes == (name != "test"), name


def test_every_action_is_pinned_to_a_commit(workflow):
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                ref = step["uses"].split("@", 1)[1]
                assert len(ref) == 40 and all(c in "0123456789abcdef" for c in ref), step["uses"]


def _lint(tool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    binary = shutil.which(tool, path=str(BIN)) or shutil.which(tool)
    assert binary, f"{tool} is not installed (make env: the dev group has it)"
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_actionlint_and_zizmor_pass_on_the_pipeline():
    assert _lint("actionlint", cwd=ROOT).returncode == 0
    result = _lint("zizmor", "--offline", "--persona=pedantic", ".github/workflows", cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_linters_catch_a_careless_workflow(tmp_path):
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(
        "on: pull_request_target\n"
        "jobs:\n"
        "  x:\n"
        "    runs-on: ubuntu-24.04\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
        "      - run: echo ${{ matrix.nope }}\n"
    )
    (tmp_path / ".git").mkdir()  # actionlint finds workflows from the repository root
    actionlint = _lint("actionlint", cwd=tmp_path)
    assert actionlint.returncode != 0 and "matrix" in actionlint.stdout
    zizmor = _lint("zizmor", "--offline", ".github/workflows", cwd=tmp_path)
    assert zizmor.returncode != 0
    assert "template-injection" in zizmor.stdout and "unpinned-uses" in zizmor.stdout
