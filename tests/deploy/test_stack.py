"""What deploy/stack.yaml promises, read from the template: websockets, drain, least privilege."""

from __future__ import annotations

import re
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from deploy import cli, taskdef
from tests.deploy.conftest import REPO
from tests.deploy.test_taskdef_model import enum_errors, input_shape, model_errors


@pytest.fixture(scope="module")
def stack() -> Any:
    return cfn_yaml.load(str(REPO / "deploy" / "stack.yaml"))


def props(stack: Any, name: str) -> Any:
    return stack["Resources"][name]["Properties"]


def attrs(items: list[dict[str, str]]) -> dict[str, str]:
    return {item["Key"]: item["Value"] for item in items}


def test_load_balancer_suits_websockets_and_the_drain(stack: Any) -> None:
    lb = attrs(props(stack, "LoadBalancer")["LoadBalancerAttributes"])
    assert lb["idle_timeout.timeout_seconds"] == "3600"
    tg = props(stack, "TargetGroup")
    assert (tg["TargetType"], tg["HealthCheckPath"], tg["Port"]) == ("ip", "/healthz", 8080)
    delay = int(attrs(tg["TargetGroupAttributes"])["deregistration_delay.timeout_seconds"])
    (container,) = taskdef.load()["containerDefinitions"]
    drain = float({e["name"]: e["value"] for e in container["environment"]}["DRAIN_TIMEOUT_S"])
    assert delay == drain < container["stopTimeout"]


def test_service_rolls_with_a_circuit_breaker(stack: Any) -> None:
    service = props(stack, "Service")
    deploy = service["DeploymentConfiguration"]
    assert deploy["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert deploy["MinimumHealthyPercent"] == 100
    assert deploy["MaximumPercent"] == 200
    assert service["LaunchType"] == "FARGATE"
    assert service["LoadBalancers"][0]["ContainerPort"] == 8080


def test_security_groups_chain_alb_to_tasks_to_redis(stack: Any) -> None:
    (task_in,) = props(stack, "TaskSecurityGroup")["SecurityGroupIngress"]
    assert task_in["SourceSecurityGroupId"] == {"Ref": "AlbSecurityGroup"}
    assert "CidrIp" not in task_in
    (redis_in,) = props(stack, "RedisSecurityGroup")["SecurityGroupIngress"]
    assert redis_in["SourceSecurityGroupId"] == {"Ref": "TaskSecurityGroup"}
    assert props(stack, "Service")["NetworkConfiguration"]["AwsvpcConfiguration"][
        "SecurityGroups"
    ] == [{"Ref": "TaskSecurityGroup"}]


def test_roles_have_least_privilege(stack: Any) -> None:
    assert "Policies" not in props(stack, "TaskRole")
    assert "ManagedPolicyArns" not in props(stack, "ExecutionRole")
    (policy,) = props(stack, "ExecutionRole")["Policies"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    # Only the login call, which has no resource form, may name every resource.
    wide = [sid for sid, s in statements.items() if s["Resource"] == "*"]
    assert wide == ["EcrLogin"]
    assert statements["RedisUrl"]["Action"] == "ssm:GetParameters"
    assert "redis-url" in statements["RedisUrl"]["Resource"]["Fn::Sub"]
    assert statements["Logs"]["Resource"] == {"Fn::GetAtt": ["LogGroup", "Arn"]}


def test_client_bucket_is_private_behind_cloudfront(stack: Any) -> None:
    block = props(stack, "ClientBucket")["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    config = props(stack, "Distribution")["DistributionConfig"]
    s3_origin = next(o for o in config["Origins"] if o["Id"] == "client")
    assert s3_origin["OriginAccessControlId"] == {"Fn::GetAtt": ["ClientOriginAccessControl", "Id"]}
    (ws,) = config["CacheBehaviors"]
    assert ws["PathPattern"] == "/ws" and ws["TargetOriginId"] == "game"


def test_stack_task_definition_matches_ecs_task_json(stack: Any) -> None:
    task = taskdef.load()
    (container,) = task["containerDefinitions"]
    td = props(stack, "TaskDefinition")
    (cfn_container,) = td["ContainerDefinitions"]
    assert (td["Cpu"], td["Memory"], td["Family"]) == (task["cpu"], task["memory"], task["family"])
    assert [e["Name"] for e in cfn_container["Environment"]] == [
        e["name"] for e in container["environment"]
    ]
    assert cfn_container["HealthCheck"]["Command"] == container["healthCheck"]["command"]
    assert cfn_container["StopTimeout"] == container["stopTimeout"]
    assert [s["Name"] for s in cfn_container["Secrets"]] == [
        s["name"] for s in container["secrets"]
    ]


def test_outputs_cover_what_the_cli_reads(stack: Any) -> None:
    source = (REPO / "deploy" / "cli.py").read_text()
    read = set(re.findall(r'outputs\.get\("(\w+)"', source))
    read |= set(re.findall(r'setting\("\w+", "(\w+)"\)', source))
    assert read >= {"ClusterName", "ServiceName", "ClientBucketName", "WebSocketUrl"}
    assert read <= set(stack["Outputs"])
    assert stack["Parameters"]["EcrRepositoryName"]["Default"] == cli.DEFAULT_REPOSITORY


def _as_api(value: Any) -> Any:
    """A CloudFormation property tree in the ECS API's spelling, intrinsics made plain strings."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref")):
            return "resolved-by-cloudformation"
        return {k[0].lower() + k[1:]: _as_api(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_api(v) for v in value]
    return value


def test_stack_task_definition_matches_the_ecs_model(stack: Any) -> None:
    task = _as_api(props(stack, "TaskDefinition"))
    assert model_errors(task) == ""
    assert enum_errors(task, input_shape()) == []
    task["networkMode"] = "bridge-ish"
    assert len(enum_errors(task, input_shape())) == 1
