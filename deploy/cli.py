"""`python -m deploy`: argparse subcommands over the image, task definition, service and client."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import botocore.exceptions

from deploy import image, publish, taskdef
from deploy.aws import (
    NO_CREDENTIALS,
    Aws,
    DeployError,
    SetupError,
    connect,
    credential_problem,
    stack_outputs,
)

DEFAULT_REPOSITORY = "pac-arena"


class Context:
    """The parsed options, the AWS session and the stack outputs (read once, when needed)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.aws: Aws = connect(args.region, args.profile)
        self._outputs: dict[str, str] | None = None

    @property
    def outputs(self) -> dict[str, str]:
        if self._outputs is None:
            stack = self.args.stack
            self._outputs = stack_outputs(self.aws, stack) if stack else {}
        return self._outputs

    def setting(self, option: str, output: str) -> str:
        """An option's value if given, else the stack output `output`; missing is an error."""
        value = getattr(self.args, option, None) or self.outputs.get(output, "")
        if not value:
            flag = "--" + option.replace("_", "-")
            where = f"stack {self.args.stack!r} has no output {output}" if self.args.stack else ""
            raise SetupError(f"need {flag} or --stack NAME ({where or 'no stack given'})")
        return str(value)


def say(text: str) -> None:
    print(text, flush=True)


# ---- commands ----


def cmd_outputs(ctx: Context) -> None:
    if not ctx.args.stack:
        raise SetupError("outputs needs --stack NAME")
    if ctx.args.json:
        say(json.dumps(ctx.outputs, indent=2, sort_keys=True))
        return
    for key in sorted(ctx.outputs):
        say(f"{key} = {ctx.outputs[key]}")


def _image_uri(ctx: Context) -> str:
    if getattr(ctx.args, "image", None):
        return str(ctx.args.image)
    tag = ctx.args.tag or image.default_tag()
    return image.image_uri(ctx.aws.account_id(), ctx.aws.region, ctx.args.repository, tag)


def _check_image(ctx: Context, uri: str) -> None:
    """Fail early when an image meant for this account's ECR was never pushed."""
    prefix = image.registry(ctx.aws.account_id(), ctx.aws.region) + "/"
    repository, _, tag = uri.removeprefix(prefix).partition(":")
    if not uri.startswith(prefix) or not tag or "@" in uri:
        return  # another registry, or a digest: ECS will tell
    ecr = ctx.aws.client("ecr")
    try:
        ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
    except ecr.exceptions.RepositoryNotFoundException:
        raise SetupError(
            f"ECR repository {repository!r} does not exist in {ctx.aws.region}; run the commands "
            f"that `python -m deploy image --tag {tag}` prints"
        ) from None
    except ecr.exceptions.ImageNotFoundException:
        raise SetupError(
            f"image {uri} is not in ECR; build and push it first with the commands that "
            f"`python -m deploy image --tag {tag}` prints"
        ) from None


def cmd_image(ctx: Context) -> None:
    tag = ctx.args.tag or image.default_tag()
    account = ctx.aws.account_id()
    uri = image.image_uri(account, ctx.aws.region, ctx.args.repository, tag)
    say(f"# Build and push {uri}")
    say("# Run these from the repository root (needs docker or podman, and the aws CLI):")
    for line in image.push_commands(account, ctx.aws.region, ctx.args.repository, tag):
        say(line)


def cmd_register(ctx: Context) -> str:
    origins = ctx.args.allowed_origins or ctx.outputs.get("AllowedOrigins", "")
    values = {
        "ACCOUNT_ID": ctx.aws.account_id(),
        "REGION": ctx.aws.region,
        "IMAGE_URI": _image_uri(ctx),
        "ALLOWED_ORIGINS": origins,
        "EXECUTION_ROLE_ARN": ctx.args.execution_role_arn
        or ctx.outputs.get("ExecutionRoleArn", ""),
        "TASK_ROLE_ARN": ctx.args.task_role_arn or ctx.outputs.get("TaskRoleArn", ""),
        "LOG_GROUP": ctx.args.log_group or ctx.outputs.get("LogGroupName", ""),
        "REDIS_URL_PARAMETER_ARN": ctx.args.redis_parameter
        or ctx.outputs.get("RedisUrlParameterArn", ""),
    }
    task = taskdef.fill(taskdef.load(Path(ctx.args.task_file)), values)
    _check_image(ctx, values["IMAGE_URI"])
    say(f"register: {task['family']} with image {values['IMAGE_URI']}")
    arn = taskdef.register(ctx.aws, task)
    say(f"register: done, {arn}")
    return arn


def cmd_update_service(ctx: Context, task_arn: str | None = None) -> None:
    cluster = ctx.setting("cluster", "ClusterName")
    service = ctx.setting("service", "ServiceName")
    ecs = ctx.aws.client("ecs")
    wanted = task_arn or ctx.args.task_definition
    if not wanted:
        family = str(taskdef.load(Path(ctx.args.task_file))["family"])
        wanted = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"][
            "taskDefinitionArn"
        ]
    say(f"update-service: {cluster}/{service} -> {wanted}")
    try:
        ecs.update_service(cluster=cluster, service=service, taskDefinition=wanted)
    except ecs.exceptions.ClusterNotFoundException:
        raise SetupError(f"ECS cluster {cluster!r} not found in {ctx.aws.region}") from None
    except ecs.exceptions.ServiceNotFoundException:
        raise SetupError(f"ECS service {service!r} not found in cluster {cluster!r}") from None
    if ctx.args.wait:
        say("update-service: waiting for the service to become stable (rolling update) ...")
        try:
            ecs.get_waiter("services_stable").wait(
                cluster=cluster,
                services=[service],
                WaiterConfig={"Delay": ctx.args.wait_delay, "MaxAttempts": 60},
            )
        except botocore.exceptions.WaiterError as exc:
            raise DeployError(f"service did not become stable: {exc}") from None
        say("update-service: stable")
    else:
        say("update-service: started (add --wait to wait until the rollout is done)")


def cmd_publish_client(ctx: Context) -> None:
    bucket = ctx.setting("bucket", "ClientBucketName")
    ws_url = ctx.args.ws_url or ctx.outputs.get("WebSocketUrl") or None
    web_dir = Path(ctx.args.web_dir)
    say(f"publish-client: {web_dir} -> s3://{bucket}/" + (f" (wsUrl {ws_url})" if ws_url else ""))
    s3 = ctx.aws.client("s3")
    try:
        uploads = publish.publish(s3, bucket, web_dir, ws_url, ctx.args.max_age, progress=say)
    except s3.exceptions.NoSuchBucket:
        raise SetupError(f"bucket {bucket!r} does not exist") from None
    say(f"publish-client: {len(uploads)} files uploaded")
    if ctx.args.delete:
        stale = publish.delete_stale(s3, bucket, {u.key for u in uploads}, progress=say)
        say(f"publish-client: {len(stale)} stale files deleted")
    distribution = ctx.args.distribution_id or ctx.outputs.get("DistributionId", "")
    if distribution:
        inval = publish.invalidate(ctx.aws.client("cloudfront"), distribution)
        say(f"publish-client: CloudFront invalidation {inval} on {distribution}")
    if "ClientUrl" in ctx.outputs:
        say(f"publish-client: play at {ctx.outputs['ClientUrl']}")


def cmd_all(ctx: Context) -> None:
    arn = cmd_register(ctx)
    cmd_update_service(ctx, arn)
    cmd_publish_client(ctx)


# ---- parser ----


def _add_image_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repository", default=DEFAULT_REPOSITORY, help="ECR repository name")
    p.add_argument("--tag", help="image tag (default: the current git commit)")


def _add_register_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--image", help="full image URI (default: the ECR URI from --repository/--tag)")
    p.add_argument("--allowed-origins", help="comma list for ALLOWED_ORIGINS (default: stack)")
    p.add_argument("--execution-role-arn", help="task execution role (default: stack)")
    p.add_argument("--task-role-arn", help="task role (default: stack)")
    p.add_argument("--log-group", help="CloudWatch log group (default: stack)")
    p.add_argument("--redis-parameter", help="ARN of the REDIS_URL parameter (default: stack)")


def _add_service_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cluster", help="ECS cluster (default: stack output ClusterName)")
    p.add_argument("--service", help="ECS service (default: stack output ServiceName)")
    p.add_argument("--wait", action="store_true", help="wait until the rollout is stable")
    p.add_argument("--wait-delay", type=int, default=15, help=argparse.SUPPRESS)


def _add_publish_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bucket", help="S3 bucket (default: stack output ClientBucketName)")
    p.add_argument("--web-dir", default=str(publish.WEB_DIR), help="client folder (default web/)")
    p.add_argument("--ws-url", help="wss:// URL written to config.json (default: stack)")
    p.add_argument("--distribution-id", help="CloudFront distribution to invalidate")
    p.add_argument(
        "--delete", action="store_true", help="delete objects that are no longer in the client"
    )
    p.add_argument(
        "--max-age", type=int, default=publish.DEFAULT_MAX_AGE, help="seconds for assets"
    )


def _add_common_options(p: argparse.ArgumentParser, default: Any) -> None:
    p.add_argument(
        "--region", default=default, help="AWS region (default: AWS_DEFAULT_REGION or the profile)"
    )
    p.add_argument("--profile", default=default, help="AWS profile (default: AWS_PROFILE)")
    p.add_argument(
        "--stack", default=default, help="CloudFormation stack whose outputs supply defaults"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deploy",
        description="Deploy Pac-Arena to AWS ECS (Fargate) with the client on S3/CloudFront.",
    )
    _add_common_options(parser, None)
    parser.add_argument("--task-file", default=str(taskdef.TASK_FILE), help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # The common options work after the command too (`all --stack NAME`); there they only
    # override what was given before it.
    common = argparse.ArgumentParser(add_help=False)
    _add_common_options(common, argparse.SUPPRESS)

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, parents=[common])

    p = command("outputs", "print the stack outputs")
    p.add_argument("--json", action="store_true", help="as a JSON object")
    p.set_defaults(run=cmd_outputs)

    p = command("image", "print the commands that build and push the image to ECR")
    _add_image_options(p)
    p.set_defaults(run=cmd_image)

    p = command("register", "register ecs-task.json with the placeholders filled")
    _add_image_options(p)
    _add_register_options(p)
    p.set_defaults(run=cmd_register)

    p = command("update-service", "roll the service to a task definition revision")
    p.add_argument("--task-definition", help="ARN or family:revision (default: latest)")
    _add_service_options(p)
    p.set_defaults(run=cmd_update_service)

    p = command("publish-client", "upload web/ to S3 and write config.json")
    _add_publish_options(p)
    p.set_defaults(run=cmd_publish_client)

    p = command("all", "register, update-service and publish-client in one go")
    _add_image_options(p)
    _add_register_options(p)
    _add_service_options(p)
    _add_publish_options(p)
    p.set_defaults(run=cmd_all)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (0 ok, 1 AWS failure, 2 setup problem)."""
    args = build_parser().parse_args(argv)
    try:
        args.run(Context(args))
    except DeployError as exc:
        print(f"deploy: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except botocore.exceptions.BotoCoreError as exc:
        if credential_problem(exc):
            print(f"deploy: error: {NO_CREDENTIALS}", file=sys.stderr)
            return 2
        print(f"deploy: error: {exc}", file=sys.stderr)
        return 1
    except botocore.exceptions.ClientError as exc:
        if credential_problem(exc):
            print(f"deploy: error: {NO_CREDENTIALS} ({exc})", file=sys.stderr)
            return 2
        print(f"deploy: error: {exc}", file=sys.stderr)
        return 1
    return 0
