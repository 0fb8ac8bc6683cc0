"""The task definition: fill the placeholders in ecs-task.json and register it with ECS."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deploy.aws import Aws, DeployError, SetupError

TASK_FILE = Path(__file__).resolve().parent.parent / "ecs-task.json"
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def load(path: Path = TASK_FILE) -> dict[str, Any]:
    """Read the task definition template."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SetupError(f"task definition file {path} not found") from None
    except json.JSONDecodeError as exc:
        raise SetupError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SetupError(f"{path} must hold one JSON object")
    return data


def placeholders(template: Any) -> set[str]:
    """Every `${NAME}` used anywhere in `template`."""
    if isinstance(template, str):
        return set(PLACEHOLDER.findall(template))
    if isinstance(template, dict):
        return set().union(*(placeholders(v) for v in template.values()))
    if isinstance(template, list):
        return set().union(*(placeholders(v) for v in template))
    return set()


def _fill(template: Any, values: Mapping[str, str]) -> Any:
    if isinstance(template, str):
        return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    return template


def fill(template: dict[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """Replace each `${NAME}` with `values[NAME]`; every placeholder needs a non-empty value."""
    missing = sorted(name for name in placeholders(template) if not values.get(name))
    if missing:
        raise SetupError(
            "no value for " + ", ".join(missing) + " in the task definition; give --stack "
            "(its outputs supply them) or the matching options (python -m deploy register -h)"
        )
    result: dict[str, Any] = _fill(template, values)
    return result


def register(aws: Aws, task: dict[str, Any]) -> str:
    """Register `task` (already filled) and return the new revision's ARN."""
    if placeholders(task):
        raise DeployError(
            "task definition still has placeholders: " + ", ".join(placeholders(task))
        )
    answer = aws.client("ecs").register_task_definition(**task)
    return str(answer["taskDefinition"]["taskDefinitionArn"])
