"""Reading async invocations from Bedrock Runtime, with one client per region, created once and reused."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from .errors import GiveUp, Rejected, UnknownInvocation, call
from .invocations import Invocation, InvocationArn
from .telemetry import BEDROCK_CALLS, count

if TYPE_CHECKING:  # the stubs are a development dependency only
    from types_boto3_bedrock_runtime.client import BedrockRuntimeClient
    from types_boto3_bedrock_runtime.type_defs import AsyncInvokeSummaryTypeDef

ClientFactory = Callable[[str], "BedrockRuntimeClient"]
# More regions than AWS has today: the clients of the regions in use stay, whatever regions the ARNs name.
MAX_CLIENTS = 40


class BedrockReader:
    """Asks the Bedrock Runtime of the ARN's own region about one invocation."""

    def __init__(self, client_factory: ClientFactory, *, max_clients: int = MAX_CLIENTS) -> None:
        self._client_factory = client_factory
        self._clients: OrderedDict[str, BedrockRuntimeClient] = OrderedDict()
        self._max_clients = max_clients
        self._lock = threading.Lock()

    def client(self, region: str) -> BedrockRuntimeClient:
        with self._lock:  # creating clients from one session is not thread-safe
            client = self._clients.get(region)
            if client is None:
                client = self._clients[region] = self._client_factory(region)
                while len(self._clients) > self._max_clients:
                    self._clients.popitem(last=False)  # the least recently used; made again if it is needed
            self._clients.move_to_end(region)
        return client

    def get(self, arn: InvocationArn) -> Invocation:
        """GetAsyncInvoke. Raises Rejected (UnknownInvocation: validation; access denied), RetryLater, or
        UnexpectedAnswer."""
        count(BEDROCK_CALLS)
        try:
            answer = call(self.client(arn.region).get_async_invoke, invocationArn=arn.arn)
        except UnknownInvocation as exc:
            raise UnknownInvocation(f"Bedrock does not know {arn.arn}: {exc.reason}") from exc
        except GiveUp as exc:
            raise Rejected(f"Bedrock refused {arn.arn}: {exc.reason}") from exc
        return Invocation.from_answer(arn.arn, answer)

    def submitted_since(self, region: str, since: datetime) -> Iterator[list[AsyncInvokeSummaryTypeDef]]:
        """Pages of ListAsyncInvokes summaries submitted after `since`, oldest first (discovery)."""
        paginator = self.client(region).get_paginator("list_async_invokes")
        pages = iter(paginator.paginate(submitTimeAfter=since, sortBy="SubmissionTime", sortOrder="Ascending"))
        while (page := call(next, pages, None)) is not None:  # each page is a call, its errors classified as any
            count(BEDROCK_CALLS)
            yield list(page.get("asyncInvokeSummaries", []))
