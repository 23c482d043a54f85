"""adv4: the README's filter for "only whole successes" against a Nova Multimodal Embeddings report the tracker could
not read."""

from __future__ import annotations

from localrun.aws_proxy import Fault
from localrun.stack import LocalAws, Resources
from tests.helpers import Invoke, sqs_event
from tests.integration.test_partial_failures import embeddings_job

# README, "Message attributes": a subscriber that wants only whole successes filters this
WHOLE_SUCCESSES = {"status": ["Completed"], "partialFailure": [{"exists": False}]}


def matches(policy: dict[str, list[object]], attributes: dict[str, dict[str, str]]) -> bool:
    """SNS's attribute filter policy, for the two kinds of condition this one uses (exact string, exists)."""
    for name, conditions in policy.items():
        value = attributes.get(name, {}).get("Value")
        if not any(
            (value is None) != condition["exists"] if isinstance(condition, dict) else value == condition
            for condition in conditions
        ):
            return False
    return True


def test_a_job_whose_report_could_not_be_read_does_not_pass_the_whole_successes_filter(
    stack: LocalAws, resources: Resources, invoke: Invoke
) -> None:
    """StartAsyncInvoke's s3OutputDataConfig takes a kmsKeyId, and a bucket's default encryption may be SSE-KMS: S3
    then refuses GetObject with AccessDenied (403) to a principal without kms:Decrypt on that key (S3 User Guide,
    "Using server-side encryption with AWS KMS keys": downloading an SSE-KMS object needs kms:Decrypt), and the
    template grants the function no kms:Decrypt. S3 may as well answer 503 SlowDown past a prefix's request rate. The
    README promises a subscriber that `{"status": ["Completed"], "partialFailure": [{"exists": false}]}` receives
    only whole successes; a job whose segments failed and whose report the tracker could not read is notified with
    no partialFailure attribute at all, so it passed that filter as a whole success. Now its partialFailure is one
    UNREADABLE entry and its attribute `unknown`."""
    stack.proxy.inject(Fault("s3", "GetObject", code="AccessDenied", status=403, times=10))
    job = embeddings_job(stack, "kmsreport001", failed_segments=2)

    invoke(sqs_event(job))

    (notification,) = stack.notifications()
    assert notification["message"]["status"] == "Completed"
    assert not matches(WHOLE_SUCCESSES, notification["MessageAttributes"])  # not told as a whole success
    assert notification["MessageAttributes"]["partialFailure"] == {"Type": "String", "Value": "unknown"}
    (event,) = stack.events()
    assert [entry["status"] for entry in event["detail"]["partialFailure"]] == ["UNREADABLE"]
