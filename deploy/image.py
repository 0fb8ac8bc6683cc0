"""The image's registry address in ECR and the exact commands that build and push it."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def registry(account: str, region: str) -> str:
    """The ECR registry host of `account` in `region`."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{suffix}"


def image_uri(account: str, region: str, repository: str, tag: str) -> str:
    return f"{registry(account, region)}/{repository}:{tag}"


def default_tag(root: Path = REPO_ROOT) -> str:
    """The current git commit (short), so every build gets its own tag; "latest" outside git."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "latest"
    return done.stdout.strip() or "latest"


def push_commands(account: str, region: str, repository: str, tag: str) -> list[str]:
    """Shell commands, run from the repository root, that create the repository if needed,
    log in, build, tag and push."""
    reg = registry(account, region)
    uri = image_uri(account, region, repository, tag)
    local = f"{repository}:{tag}"
    q = shlex.quote
    return [
        f"aws ecr describe-repositories --region {q(region)} --repository-names {q(repository)}"
        f" >/dev/null 2>&1 || aws ecr create-repository --region {q(region)}"
        f" --repository-name {q(repository)} --image-scanning-configuration scanOnPush=true",
        f"aws ecr get-login-password --region {q(region)}"
        f" | docker login --username AWS --password-stdin {q(reg)}",
        f"docker build --platform linux/amd64 -t {q(local)} .",
        f"docker tag {q(local)} {q(uri)}",
        f"docker push {q(uri)}",
    ]
