"""ecs-task.json against botocore's own ECS model, its enums, and Fargate's sizing rules."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import botocore.session
import pytest
from botocore.model import Shape
from botocore.validate import ParamValidator

from deploy import taskdef
from tests.deploy.conftest import REPO

SAMPLE_VALUES = {
    "ACCOUNT_ID": "123456789012",
    "REGION": "eu-west-1",
    "IMAGE_URI": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/pac-arena:abc123",
    "ALLOWED_ORIGINS": "https://d111111abcdef8.cloudfront.net",
    "EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/pac-arena-execution",
    "TASK_ROLE_ARN": "arn:aws:iam::123456789012:role/pac-arena-task",
    "LOG_GROUP": "/ecs/pac-arena",
    "REDIS_URL_PARAMETER_ARN": "arn:aws:ssm:eu-west-1:123456789012:parameter/pac-arena/redis-url",
}

# Fargate's accepted task sizes: cpu units -> memory MiB.
FARGATE_SIZES = {
    256: {512, 1024, 2048},
    512: set(range(1024, 4097, 1024)),
    1024: set(range(2048, 8193, 1024)),
    2048: set(range(4096, 16385, 1024)),
    4096: set(range(8192, 30721, 1024)),
}


def input_shape() -> Shape:
    model = botocore.session.get_session().get_service_model("ecs")
    return model.operation_model("RegisterTaskDefinition").input_shape


def model_errors(task: dict[str, Any]) -> str:
    """What botocore's validator reports: unknown keys, wrong types, missing required keys."""
    report = ParamValidator().validate(task, input_shape())
    return report.generate_report() if report.has_errors() else ""


def enum_errors(value: Any, shape: Shape, path: str = "") -> list[str]:
    """Values outside the model's enum lists, which the validator does not check."""
    errors = []
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                errors += enum_errors(item, shape.members[key], f"{path}.{key}")
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            errors += enum_errors(item, shape.member, f"{path}[{i}]")  # type: ignore[attr-defined]
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            errors += enum_errors(item, shape.value, f"{path}.{key}")  # type: ignore[attr-defined]
    elif shape.type_name == "string" and shape.enum and value not in shape.enum:
        errors.append(f"{path}: {value!r} is not one of {shape.enum}")
    return errors


def filled() -> dict[str, Any]:
    return taskdef.fill(taskdef.load(), SAMPLE_VALUES)


def test_placeholders_are_the_documented_ones() -> None:
    assert taskdef.placeholders(taskdef.load()) == set(SAMPLE_VALUES)
    assert taskdef.placeholders(filled()) == set()


def test_task_definition_matches_the_ecs_model() -> None:
    assert model_errors(filled()) == ""


def test_task_definition_uses_only_enum_values_the_model_allows() -> None:
    task = filled()
    assert enum_errors(task, input_shape()) == []
    # The walk really visits enums: the ones this file sets are all checked.
    visited = [
        task["networkMode"],
        task["requiresCompatibilities"][0],
        task["containerDefinitions"][0]["logConfiguration"]["logDriver"],
    ]
    assert visited == ["awsvpc", "FARGATE", "awslogs"]


def test_a_broken_copy_fails_both_checks() -> None:
    broken = copy.deepcopy(filled())
    container = broken["containerDefinitions"][0]
    container["stopTimout"] = 30  # typo: unknown key
    container["memoryReservation"] = "512"  # wrong type
    broken["networkMode"] = "awsvpcx"  # not in the enum
    container["logConfiguration"]["logDriver"] = "cloudwatch"
    container["portMappings"][0]["protocol"] = "websocket"
    report = model_errors(broken)
    assert "stopTimout" in report
    assert "memoryReservation" in report
    enums = enum_errors(broken, input_shape())
    assert len(enums) == 3
    assert any("networkMode" in e for e in enums)
    assert any("logDriver" in e for e in enums)
    assert any("protocol" in e for e in enums)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("cpu",), 512),  # the API wants a string
        (("containerDefinitions", 0, "portMappings", 0, "containerPort"), "8080"),
        (("containerDefinitions", 0, "healthCheck", "commnd"), ["CMD", "true"]),
    ],
)
def test_each_kind_of_mistake_is_reported(path: tuple[Any, ...], value: Any) -> None:
    broken = copy.deepcopy(filled())
    target = broken
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    assert model_errors(broken) != ""


def test_fargate_accepts_the_size_and_network_mode() -> None:
    task = filled()
    assert task["requiresCompatibilities"] == ["FARGATE"]
    assert task["networkMode"] == "awsvpc"
    assert int(task["memory"]) in FARGATE_SIZES[int(task["cpu"])]


def test_container_matches_the_image_and_covers_the_drain() -> None:
    (container,) = filled()["containerDefinitions"]
    env = {e["name"]: e["value"] for e in container["environment"]}
    dockerfile = (REPO / "Dockerfile").read_text()
    port = re.search(r"^EXPOSE (\d+)", dockerfile, re.M)
    assert port is not None
    exposed = int(port.group(1))
    assert container["portMappings"][0]["containerPort"] == exposed == int(env["PORT"])
    # ECS sends SIGTERM, waits stopTimeout, then SIGKILL: the drain must fit with room to spare.
    assert container["stopTimeout"] >= float(env["DRAIN_TIMEOUT_S"]) + 5
    assert container["stopTimeout"] <= 120  # Fargate's maximum
    # The same health probe as the image's HEALTHCHECK.
    found = re.search(r"HEALTHCHECK .*?CMD (\[[^]]*\])", dockerfile, re.S)
    assert found is not None
    probe = json.loads(found.group(1))
    assert container["healthCheck"]["command"] == ["CMD", *probe]
    secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    assert secrets["REDIS_URL"].startswith("arn:aws:ssm:")
    assert "REDIS_URL" not in env
    options = container["logConfiguration"]["options"]
    assert options["awslogs-region"] == "eu-west-1"
    assert env["LOG_FORMAT"] == "json"


def test_missing_values_are_named() -> None:
    values = dict(SAMPLE_VALUES, IMAGE_URI="", LOG_GROUP="")
    with pytest.raises(taskdef.SetupError, match="IMAGE_URI, LOG_GROUP"):
        taskdef.fill(taskdef.load(), values)
