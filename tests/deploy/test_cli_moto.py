"""The deploy CLI and the S3 publisher end to end against moto's AWS (`mock_aws`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from deploy import publish
from deploy.cli import main
from tests.deploy.conftest import REGION, REPO

ACCOUNT = "123456789012"  # moto's account
STACK = "pac-arena-test"
CLIENT_ORIGIN = "https://d111111abcdef8.cloudfront.net"
WS_URL = "wss://d111111abcdef8.cloudfront.net/ws"


MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1,
            "digest": "sha256:" + "0" * 64,
        },
        "layers": [],
    }
)


def stack_template() -> str:
    """A stand-in stack with the outputs deploy/stack.yaml exposes, pointing at moto resources."""
    names = [
        "ClusterName",
        "ServiceName",
        "ExecutionRoleArn",
        "TaskRoleArn",
        "LogGroupName",
        "RedisUrlParameterArn",
        "AllowedOrigins",
        "WebSocketUrl",
        "ClientUrl",
        "DistributionId",
    ]
    return json.dumps(
        {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Parameters": {n: {"Type": "String"} for n in names},
            "Resources": {"ClientBucket": {"Type": "AWS::S3::Bucket"}},
            "Outputs": {
                "ClientBucketName": {"Value": {"Ref": "ClientBucket"}},
                **{n: {"Value": {"Ref": n}} for n in names},
            },
        }
    )


@pytest.fixture
def aws(aws_env: None) -> Iterator[dict[str, Any]]:
    """moto with a cluster, a service on a first revision, a distribution and a stack."""
    with mock_aws():
        ecs = boto3.client("ecs", region_name=REGION)
        ecs.create_cluster(clusterName="arena")
        first = ecs.register_task_definition(
            family="pac-arena",
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            containerDefinitions=[{"name": "pac-arena", "image": "old", "essential": True}],
        )["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(
            cluster="arena",
            serviceName="arena",
            taskDefinition=first,
            desiredCount=0,
            launchType="FARGATE",
            deploymentConfiguration={
                "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
            },
        )
        ecr = boto3.client("ecr", region_name=REGION)
        ecr.create_repository(repositoryName="pac-arena")
        for tag in ("v42", "a", "b"):
            ecr.put_image(repositoryName="pac-arena", imageManifest=MANIFEST, imageTag=tag)
        cloudfront = boto3.client("cloudfront", region_name="us-east-1")
        dist = cloudfront.create_distribution(
            DistributionConfig={
                "CallerReference": "t",
                "Comment": "",
                "Enabled": True,
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {
                            "Id": "s3",
                            "DomainName": "b.s3.amazonaws.com",
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        }
                    ],
                },
                "DefaultCacheBehavior": {
                    "TargetOriginId": "s3",
                    "ViewerProtocolPolicy": "redirect-to-https",
                    "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                },
            }
        )["Distribution"]["Id"]
        params = {
            "ClusterName": "arena",
            "ServiceName": "arena",
            "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/exec",
            "TaskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/task",
            "LogGroupName": "/ecs/pac-arena-test",
            "RedisUrlParameterArn": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/pac-arena/redis",
            "AllowedOrigins": CLIENT_ORIGIN,
            "WebSocketUrl": WS_URL,
            "ClientUrl": CLIENT_ORIGIN + "/",
            "DistributionId": dist,
        }
        cfn = boto3.client("cloudformation", region_name=REGION)
        cfn.create_stack(
            StackName=STACK,
            TemplateBody=stack_template(),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        )
        outputs = cfn.describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]
        bucket = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "ClientBucketName")
        yield {"first": first, "bucket": bucket, "distribution": dist, **params}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def objects(bucket: str) -> dict[str, dict[str, Any]]:
    s3 = boto3.client("s3", region_name=REGION)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {k: s3.get_object(Bucket=bucket, Key=k) for k in keys}


def test_publish_client_types_caches_and_config(
    aws: dict[str, Any], web_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "--stack", STACK, "publish-client", "--web-dir", str(web_dir), "--max-age", "600"
    )
    assert (code, err) == (0, "")
    got = objects(aws["bucket"])
    assert sorted(got) == [
        "app.webmanifest",
        "config.json",
        "fonts/arcade.woff2",
        "icon.png",
        "icon.svg",
        "index.html",
        "main.js",
        "net.js",
        "style.css",
        "util.mjs",
    ]
    types = {k: v["ContentType"] for k, v in got.items()}
    assert types == {
        "app.webmanifest": "application/manifest+json",
        "config.json": "application/json",
        "fonts/arcade.woff2": "font/woff2",
        "icon.png": "image/png",
        "icon.svg": "image/svg+xml",
        "index.html": "text/html; charset=utf-8",
        "main.js": "text/javascript; charset=utf-8",
        "net.js": "text/javascript; charset=utf-8",
        "style.css": "text/css; charset=utf-8",
        "util.mjs": "text/javascript; charset=utf-8",
    }
    caches = {k: v["CacheControl"] for k, v in got.items()}
    assert caches.pop("index.html") == "no-cache"
    assert caches.pop("config.json") == "no-cache"
    assert set(caches.values()) == {"public, max-age=600"}
    # The stale local config.json is replaced by one pointing at the stack's websocket.
    assert json.loads(got["config.json"]["Body"].read()) == {"wsUrl": WS_URL}
    assert got["main.js"]["Body"].read() == b"import './net.js';"
    assert f"s3://{aws['bucket']}/index.html" in out
    assert "10 files uploaded" in out
    assert "CloudFront invalidation" in out
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    inval = cloudfront.list_invalidations(DistributionId=aws["distribution"])
    assert inval["InvalidationList"]["Quantity"] == 1


def test_publish_without_ws_url_keeps_the_local_config(aws: dict[str, Any], web_dir: Path) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    lines: list[str] = []
    done = publish.publish(s3, aws["bucket"], web_dir, None, progress=lines.append)
    assert len(done) == len(lines) == 10
    body = s3.get_object(Bucket=aws["bucket"], Key="config.json")["Body"].read()
    assert json.loads(body) == {"wsUrl": "ws://stale.example/ws"}
    # index.html goes last, so a visitor mid-upload never gets a page whose assets are missing.
    assert done[-1].key == "index.html"


def test_register_fills_the_placeholders_from_the_stack(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--stack", STACK, "register", "--tag", "v42")
    assert (code, err) == (0, "")
    ecs = boto3.client("ecs", region_name=REGION)
    task = ecs.describe_task_definition(taskDefinition="pac-arena")["taskDefinition"]
    assert task["revision"] == 2
    assert task["taskDefinitionArn"] in out
    (container,) = task["containerDefinitions"]
    assert container["image"] == f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/pac-arena:v42"
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["ALLOWED_ORIGINS"] == CLIENT_ORIGIN
    assert container["secrets"] == [{"name": "REDIS_URL", "valueFrom": aws["RedisUrlParameterArn"]}]
    assert container["logConfiguration"]["options"]["awslogs-group"] == "/ecs/pac-arena-test"
    assert container["logConfiguration"]["options"]["awslogs-region"] == REGION
    assert task["executionRoleArn"] == aws["ExecutionRoleArn"]
    assert task["taskRoleArn"] == aws["TaskRoleArn"]
    assert "${" not in json.dumps(task)


def test_all_registers_updates_the_service_and_publishes(
    aws: dict[str, Any], web_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys,
        "--stack",
        STACK,
        "all",
        "--image",
        "registry.example/pac-arena:1",
        "--web-dir",
        str(web_dir),
        "--wait",
        "--wait-delay",
        "1",
    )
    assert (code, err) == (0, ""), out
    ecs = boto3.client("ecs", region_name=REGION)
    (service,) = ecs.describe_services(cluster="arena", services=["arena"])["services"]
    assert service["taskDefinition"].endswith("task-definition/pac-arena:2")
    assert service["taskDefinition"] != aws["first"]
    assert "update-service: stable" in out
    assert "config.json" in objects(aws["bucket"])
    order = [line.split(":")[0] for line in out.splitlines() if not line.startswith(" ")]
    assert order.index("register") < order.index("update-service") < order.index("publish-client")


def test_update_service_defaults_to_the_latest_revision(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "--stack", STACK, "register", "--tag", "a")[0] == 0
    assert run(capsys, "--stack", STACK, "register", "--tag", "b")[0] == 0
    code, out, _ = run(capsys, "update-service", "--cluster", "arena", "--service", "arena")
    assert code == 0
    ecs = boto3.client("ecs", region_name=REGION)
    (service,) = ecs.describe_services(cluster="arena", services=["arena"])["services"]
    assert service["taskDefinition"].endswith("pac-arena:3")
    assert "--wait" in out


def test_image_prints_the_ecr_commands(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "image", "--tag", "v7")
    assert code == 0
    uri = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/pac-arena:v7"
    lines = [line for line in out.splitlines() if not line.startswith("#")]
    assert lines[1] == (
        f"aws ecr get-login-password --region {REGION} | docker login --username AWS "
        f"--password-stdin {ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    )
    assert lines[2:] == [
        "docker build --platform linux/amd64 -t pac-arena:v7 .",
        f"docker tag pac-arena:v7 {uri}",
        f"docker push {uri}",
    ]
    assert "create-repository" in lines[0]


def test_outputs_lists_the_stack(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--stack", STACK, "outputs", "--json")
    assert code == 0
    assert json.loads(out)["WebSocketUrl"] == WS_URL


def test_missing_stack_is_a_clear_error(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--stack", "nope", "publish-client")
    assert code == 2
    assert out == ""
    assert err.startswith("deploy: error: stack 'nope' not found in eu-west-1")
    assert len(err.strip().splitlines()) == 1


def test_missing_service_is_a_clear_error(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "update-service", "--cluster", "arena", "--service", "ghost")
    assert code == 2
    assert "service 'ghost' not found" in err


def test_missing_setting_without_stack(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "publish-client")
    assert code == 2
    assert "need --bucket or --stack NAME" in err


def test_missing_credentials_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """The real command in a clean environment: no keys, no profile, no instance metadata."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "deploy", "image"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("deploy: error: no usable AWS credentials")
    assert len(done.stderr.strip().splitlines()) == 1


def test_register_refuses_an_image_that_was_never_pushed(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--stack", STACK, "register", "--tag", "never-pushed")
    assert code == 2
    assert "pac-arena:never-pushed is not in ECR" in err
    assert "python -m deploy image --tag never-pushed" in err
    code, _, err = run(capsys, "--stack", STACK, "register", "--repository", "nope", "--tag", "a")
    assert code == 2
    assert "ECR repository 'nope' does not exist" in err
    ecs = boto3.client("ecs", region_name=REGION)
    assert (
        ecs.describe_task_definition(taskDefinition="pac-arena")["taskDefinition"]["revision"] == 1
    )


def test_common_options_work_after_the_command(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "outputs", "--stack", STACK, "--json")
    assert code == 0
    assert json.loads(out)["ClusterName"] == "arena"
    # Given after the command, it wins over the one before it.
    code, _, err = run(capsys, "--stack", STACK, "outputs", "--stack", "other")
    assert code == 2
    assert "stack 'other' not found" in err
    code, _, err = run(
        capsys, "--region", REGION, "outputs", "--stack", STACK, "--region", "us-east-1"
    )
    assert code == 2
    assert "not found in us-east-1" in err
    code, _, _ = run(
        capsys, "--region", "us-east-1", "outputs", "--stack", STACK, "--region", REGION
    )
    assert code == 0


def test_the_real_client_folder_gets_known_types(aws: dict[str, Any]) -> None:
    """Every file web/ ships has a proper type (nothing falls back to octet-stream)."""
    s3 = boto3.client("s3", region_name=REGION)
    done = publish.publish(s3, aws["bucket"], REPO / "web", WS_URL, progress=lambda _: None)
    types = {u.key: u.content_type for u in done}
    assert types["index.html"] == "text/html; charset=utf-8"
    assert "application/octet-stream" not in types.values(), types
    assert all(types[k].startswith("text/javascript") for k in types if k.endswith(".js"))
    body = s3.get_object(Bucket=aws["bucket"], Key="config.json")["Body"].read()
    assert json.loads(body) == {"wsUrl": WS_URL}


def test_missing_bucket_is_a_clear_error(
    aws: dict[str, Any], web_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "publish-client", "--bucket", "nope", "--web-dir", str(web_dir))
    assert code == 2
    assert err.strip() == "deploy: error: bucket 'nope' does not exist"


def test_delete_removes_only_files_gone_from_the_client(
    aws: dict[str, Any], web_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=aws["bucket"], Key="old-module.js", Body=b"x")
    args = ["--stack", STACK, "publish-client", "--web-dir", str(web_dir)]
    assert run(capsys, *args)[0] == 0
    assert "old-module.js" in objects(aws["bucket"])  # kept unless asked
    code, out, _ = run(capsys, *args, "--delete")
    assert code == 0
    keys = set(objects(aws["bucket"]))
    assert "old-module.js" not in keys
    assert {"index.html", "config.json", "main.js"} <= keys and len(keys) == 10
    assert "1 stale files deleted" in out
