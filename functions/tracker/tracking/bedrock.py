"""Reading async invocations from Bedrock Runtime, with one client per region, created once and reused."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .errors import GiveUp, Rejected, classify
from .invocations import Invocation, InvocationArn
from .telemetry import BEDROCK_CALLS, count

ClientFactory = Callable[[str], Any]


def client_config(concurrency: int) -> Config:
    """Retries live in botocore (standard mode: backoff with jitter, retry quota); the pool matches our threads."""
    return Config(
        retries={"mode": "standard", "total_max_attempts": 4},
        connect_timeout=3,
        read_timeout=10,
        max_pool_connections=max(10, concurrency),
    )


class BedrockReader:
    """Asks the Bedrock Runtime of the ARN's own region about one invocation."""

    def __init__(self, client_factory: ClientFactory) -> None:
        self._client_factory = client_factory
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, region: str) -> Any:
        client = self._clients.get(region)
        if client is None:
            with self._lock:  # creating clients from one session is not thread-safe
                client = self._clients.get(region)
                if client is None:
                    client = self._clients[region] = self._client_factory(region)
        return client

    def get(self, arn: InvocationArn) -> Invocation:
        """GetAsyncInvoke. Raises Rejected (validation, access denied), RetryLater, or UnexpectedAnswer."""
        count(BEDROCK_CALLS)
        try:
            answer = self.client(arn.region).get_async_invoke(invocationArn=arn.arn)
        except (ClientError, BotoCoreError) as exc:
            error = classify(exc)
            if isinstance(error, GiveUp):
                raise Rejected(f"Bedrock refused {arn.arn}: {error.reason}") from exc
            raise error from exc
        return Invocation.from_answer(arn.arn, answer)

    def submitted_since(self, region: str, since: datetime) -> Iterator[list[dict[str, Any]]]:
        """Pages of ListAsyncInvokes summaries submitted after `since`, oldest first (discovery)."""
        paginator = self.client(region).get_paginator("list_async_invokes")
        pages = paginator.paginate(submitTimeAfter=since, sortBy="SubmissionTime", sortOrder="Ascending")
        try:
            for page in pages:
                count(BEDROCK_CALLS)
                yield list(page.get("asyncInvokeSummaries", []))
        except (ClientError, BotoCoreError) as exc:
            raise classify(exc) from exc
