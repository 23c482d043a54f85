"""`bedrock-tracker check-bucket` calls a bucket heard only where S3 sends its events to the stack: a bucket of the
stack's Region, owned by its account, that sends its events to EventBridge."""

from __future__ import annotations

import pytest

from localrun.stack import LocalAws, Resources
from tests.helpers import fail_on_the_wire
from tests.integration.test_cli import cli
from tracker_cli.main import main


@pytest.mark.usefixtures("environment")
def test_check_bucket_does_not_call_a_bucket_of_another_region_heard_even_with_its_events_on(
    stack: LocalAws, resources: Resources, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = stack.client("s3", "eu-west-1")
    bucket = f"far-{resources.table_name}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})

    assert main(cli(resources, "check-bucket", bucket)) == 1

    out = capsys.readouterr().out
    assert "is in eu-west-1, not us-east-1" in out
    assert "put-bucket-notification-configuration" not in out  # turning events on would not help


@pytest.mark.usefixtures("environment")
def test_check_bucket_says_what_it_checked_of_a_bucket_it_hears(
    stack: LocalAws, resources: Resources, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(cli(resources, "check-bucket", resources.bucket)) == 0

    assert "is in us-east-1, owned by 123456789012, and sends its events to EventBridge" in capsys.readouterr().out


@pytest.mark.usefixtures("environment")
def test_check_bucket_does_not_call_a_bucket_of_another_account_heard(
    stack: LocalAws, resources: Resources, capsys: pytest.CaptureFixture[str]
) -> None:
    # S3 answers 403 to a request whose ExpectedBucketOwner is not the bucket's owner (moto does not check it)
    fail_on_the_wire(stack, "s3", "GetBucketLocation", code="AccessDenied", status=403)

    assert main(cli(resources, "check-bucket", resources.bucket)) == 1

    out = capsys.readouterr().out
    assert "is not owned by account 123456789012" in out
    assert "put-bucket-notification-configuration" not in out
