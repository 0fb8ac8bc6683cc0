"""The CloudFormation template under cfn-lint and the Dockerfile under hadolint (both offline)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO

BIN = Path(sys.executable).parent
TEMPLATE = REPO / "deploy" / "stack.yaml"
DOCKERFILE = REPO / "Dockerfile"


def cfn_lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "cfn-lint"), "--format", "parseable", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "hadolint"), "--no-color", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_template_is_cfn_lint_clean() -> None:
    done = cfn_lint(TEMPLATE)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        # Fargate has no 300-unit size.
        ('Cpu: "512"', 'Cpu: "300"', "E3"),
        # A target group cannot speak "WS".
        ("      Protocol: HTTP\n      Port: 8080", "      Protocol: WS\n      Port: 8080", "E3"),
        # A reference to nothing.
        ("Cluster: !Ref Cluster", "Cluster: !Ref Clusterr", "E"),
    ],
)
def test_cfn_lint_flags_a_broken_copy(tmp_path: Path, old: str, new: str, rule: str) -> None:
    text = TEMPLATE.read_text()
    assert text.count(old) == 1
    broken = tmp_path / "stack.yaml"
    broken.write_text(text.replace(old, new))
    done = cfn_lint(broken)
    assert done.returncode != 0
    assert f":{rule}" in done.stdout, done.stdout


@pytest.mark.parametrize(
    "path",
    [DOCKERFILE, REPO / "deploy" / "container" / "Containerfile.python"],
    ids=lambda p: p.name,
)
def test_dockerfile_is_hadolint_clean(path: Path) -> None:
    done = hadolint(path)
    assert (done.returncode, done.stdout) == (0, ""), done.stdout


def test_hadolint_flags_a_broken_copy(tmp_path: Path) -> None:
    broken = tmp_path / "Dockerfile"
    text = DOCKERFILE.read_text().replace("USER 10001:10001", "USER app")
    text = text.replace('CMD ["python", "-m", "server"]', "CMD python -m server")
    broken.write_text(text)
    done = hadolint(broken)
    assert done.returncode != 0
    assert "DL3066" in done.stdout  # non-numeric user
    assert "DL3025" in done.stdout  # shell-form CMD: SIGTERM would go to a shell
