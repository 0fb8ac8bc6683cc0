"""AWS access for the deploy commands: one session, the account id, stack outputs, clear errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.exceptions

# Error codes AWS answers with when the credentials themselves are wrong (not a permission).
CREDENTIAL_ERROR_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
    }
)


class DeployError(Exception):
    """A failure the user can act on; the message is shown as one line."""

    exit_code = 1


class SetupError(DeployError):
    """Missing credentials, region, stack or setting: nothing was changed; exit 2."""

    exit_code = 2


NO_CREDENTIALS = (
    "no usable AWS credentials: set AWS_PROFILE (or pass --profile), or AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, or run `aws configure`"
)


@dataclass
class Aws:
    """A boto3 session plus the facts every command needs (region, account)."""

    session: boto3.session.Session
    _account: str = field(default="", init=False)

    @property
    def region(self) -> str:
        return str(self.session.region_name)

    def client(self, service: str) -> Any:
        """A boto3 client for `service` in the session's region."""
        return self.session.client(service, region_name=self.region)

    def account_id(self) -> str:
        """The account the credentials belong to (one STS call, cached)."""
        if not self._account:
            self._account = str(self.client("sts").get_caller_identity()["Account"])
        return self._account


def connect(region: str | None, profile: str | None) -> Aws:
    """Open a session; a missing profile or region is a `SetupError`."""
    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
    except botocore.exceptions.ProfileNotFound as exc:
        raise SetupError(str(exc)) from None
    if not session.region_name:
        raise SetupError("no AWS region: pass --region, or set AWS_DEFAULT_REGION")
    return Aws(session)


def stack_outputs(aws: Aws, stack: str) -> dict[str, str]:
    """The outputs of CloudFormation stack `stack`, as a name -> value dict."""
    try:
        found = aws.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except botocore.exceptions.ClientError as exc:
        if "does not exist" in str(exc):
            raise SetupError(
                f"stack {stack!r} not found in {aws.region}; create it first with `aws "
                f"cloudformation deploy --template-file deploy/stack.yaml --stack-name {stack} ...`"
                " (docs/deploy.md)"
            ) from None
        raise
    status = found[0].get("StackStatus", "")
    if status.endswith("_IN_PROGRESS") and not status.startswith("UPDATE"):
        raise SetupError(f"stack {stack!r} is {status}; wait until it is complete")
    if status in ("ROLLBACK_COMPLETE", "CREATE_FAILED", "DELETE_COMPLETE"):
        raise SetupError(f"stack {stack!r} is {status}; fix and recreate it")
    return {o["OutputKey"]: o["OutputValue"] for o in found[0].get("Outputs", [])}


def credential_problem(exc: BaseException) -> bool:
    """Whether `exc` means "your credentials are missing or wrong" rather than anything else."""
    if isinstance(
        exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError
    ):
        return True
    if isinstance(exc, botocore.exceptions.ClientError):
        return exc.response.get("Error", {}).get("Code", "") in CREDENTIAL_ERROR_CODES
    return False
