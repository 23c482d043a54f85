"""The baseline for init time: a handler that only imports boto3."""

import boto3


def handler(event: dict[str, object], context: object) -> str:
    return str(boto3.__version__)
