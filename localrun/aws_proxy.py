"""Between the function and moto's server: what AWS can do to a request, done on the wire, beneath the SDK.

The function's endpoint (`AWS_ENDPOINT_URL`) is this proxy, so botocore's own retries and timeouts run against
it with the production client settings. A fault applies to a number of requests (each attempt counts):

- `error`: answer with an AWS error in the service's own wire format; the request has no effect;
- `slow`: let the request take effect, then answer after `seconds` (past a client's read timeout: outcome unknown);
- `drop`: let the request take effect, then close the connection without an answer;
- `drop_before`: close the connection without forwarding: no effect, though the client cannot tell;
- `refuse_entries`: EventBridge's PutEvents refusing its entries: HTTP 200, `FailedEntryCount`, each entry's
  `ErrorCode` (`code`): nothing is put, and the SDK sees a success, so it does not retry.

A simulation can also decide on every request itself (`ProxyState.decide`: a fault or None, at a chosen rate,
say) and rewrite every answer (`ProxyState.rewrite`: a DynamoDB Map's keys in another order, as DynamoDB does not
promise one).

It also does what moto does not: SNS FIFO deduplication on the stack's clock (5 minutes), so that a test can move
time past the window; a DynamoDB Map's keys in another order than written (`map_order`: "reversed", or "shuffled"
by `map_seed`), since DynamoDB promises none and moto keeps the order of insertion; DynamoDB's bound on an
expression's length (4 KB: a longer UpdateExpression or ConditionExpression is refused with a ValidationException,
the developer guide's Constraints, *Expression parameters*), which moto does not check; and it logs every
operation, with whether the function made it (its User-Agent).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import random
import re
import secrets
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

FUNCTION_USER_AGENT = "bedrock-async-tracker"  # tracking.clients.USER_AGENT: every call the function makes says it
FIFO_DEDUPLICATION_WINDOW = timedelta(minutes=5)
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[a-z0-9-]+/(?P<service>[a-z0-9-]+)/aws4_request")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}
# "The maximum length of any expression string is 4 KB" (DynamoDB developer guide, Constraints, Expression parameters)
DYNAMODB_MAX_EXPRESSION_BYTES = 4096
_EXPRESSIONS = (
    "UpdateExpression",
    "ConditionExpression",
    "KeyConditionExpression",
    "FilterExpression",
    "ProjectionExpression",
)


@dataclass
class Fault:
    service: str  # as SigV4 signs it: dynamodb, sns, sqs, s3, events, states
    operation: str  # UpdateItem, Publish, ... or "*"
    action: str = "error"  # error | slow | drop | drop_before | refuse_entries
    code: str = "InternalFailure"
    status: int = 500
    seconds: float = 0.0
    times: int = 1
    match: str = ""  # only requests whose body holds this text
    hits: int = 0

    def applies(self, service: str, operation: str, body: str) -> bool:
        return (
            self.hits < self.times
            and self.service == service
            and self.operation in ("*", operation)
            and self.match in body
        )


@dataclass
class Call:
    service: str
    operation: str
    by_function: bool
    fault: str = ""


@dataclass
class ProxyState:
    target: tuple[str, int]
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    faults: list[Fault] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    fifo_seen: dict[tuple[str, str], datetime] = field(default_factory=dict)
    deduplicated: int = 0
    map_order: str = ""  # "" as moto keeps them (insertion), "reversed" or "shuffled" (by map_seed)
    map_seed: int = 0
    map_rng: random.Random | None = None  # one shuffle after another (a seeded day); else Random(map_seed) each answer
    # Asked about each request no listed fault takes (service, operation, body): a fault to apply, or None.
    decide: Callable[[str, str, str], Fault | None] | None = None
    # Each answer the function gets, as (service, operation, answer) -> the answer it gets instead.
    rewrite: Callable[[str, str, bytes], bytes] | None = None

    def __post_init__(self) -> None:
        self.lock = threading.Lock()

    def operations(self, *, by_function: bool = True) -> Counter[str]:
        with self.lock:
            return Counter(f"{c.service}:{c.operation}" for c in self.calls if c.by_function == by_function)


class AwsProxy(ThreadingHTTPServer):
    daemon_threads = True
    # An AWS endpoint takes every connection; socketserver's backlog of 5 drops the SYNs of a few environments'
    # 32 threads connecting at once, which botocore reports, a second later, as ConnectTimeoutError.
    request_queue_size = 256

    def __init__(self, target: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        parts = urlsplit(target)
        self.state = ProxyState(target=(parts.hostname or "127.0.0.1", parts.port or 80))

    @property
    def endpoint(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> AwsProxy:
        threading.Thread(target=self.serve_forever, name="aws-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def inject(self, fault: Fault) -> Fault:
        with self.state.lock:
            self.state.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self.state.lock:
            self.state.faults.clear()
            self.state.calls.clear()
            self.state.fifo_seen.clear()
            self.state.deduplicated = 0
            self.state.map_order = ""
            self.state.map_rng = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up on a slow answer, or a connection dropped on purpose, is not the proxy's error."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: AwsProxy
    protocol_version = "HTTP/1.1"
    _upstream: http.client.HTTPConnection | None = None
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._relay()

    def do_POST(self) -> None:
        self._relay()

    def do_PUT(self) -> None:
        self._relay()

    def do_DELETE(self) -> None:
        self._relay()

    def do_HEAD(self) -> None:
        self._relay()

    def _relay(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        text = body.decode("utf-8", errors="replace")
        service, operation = self._operation(text)
        with state.lock:
            fault = next((f for f in state.faults if f.applies(service, operation, text)), None)
            if fault is not None:
                fault.hits += 1
            elif state.decide is not None:
                fault = state.decide(service, operation, text)
            by_function = FUNCTION_USER_AGENT in self.headers.get("User-Agent", "")
            state.calls.append(Call(service, operation, by_function, fault.action if fault else ""))
        if fault is not None and self._answered_before_forwarding(fault, service, text):
            return
        if service == "dynamodb" and self._expression_too_long(text):
            return
        if service == "sns" and operation == "Publish":
            body, duplicate = self._fifo(text, body)
            if duplicate:
                self._answer_publish_duplicate()
                return
        status, headers, answer = self._forward(body)
        if service == "dynamodb" and state.map_order and answer:
            headers, answer = self._reorder_maps(headers, answer)
        if fault is not None and fault.action == "drop":
            self.close_connection = True
            return
        if fault is not None and fault.action == "slow":
            time.sleep(fault.seconds)
        if state.rewrite is not None and status == 200:
            answer = state.rewrite(service, operation, answer)
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def _answered_before_forwarding(self, fault: Fault, service: str, text: str) -> bool:
        """A fault that answers (or drops) the request without moto: True if this one did."""
        if fault.action == "error":
            self._error(service, fault)
        elif fault.action == "drop_before":
            self.close_connection = True
        elif fault.action == "refuse_entries":
            self._refuse_entries(fault, text)
        else:
            return False
        return True

    def _expression_too_long(self, text: str) -> bool:
        """DynamoDB refuses an expression longer than 4 KB, as moto does not: True if this request's was refused."""
        try:
            request = json.loads(text)
        except ValueError:
            return False
        if not isinstance(request, dict):
            return False
        for name in _EXPRESSIONS:
            size = len(str(request.get(name, "")).encode("utf-8"))
            if size > DYNAMODB_MAX_EXPRESSION_BYTES:
                kind = name.removesuffix("Expression")
                message = f"Invalid {kind}Expression: Expression size has exceeded the maximum allowed size; "
                self._send(
                    400,
                    "application/x-amz-json-1.0",
                    json.dumps(
                        {
                            "__type": "com.amazonaws.dynamodb.v20120810#ValidationException",
                            "message": f"{message}expression size: {size}",
                        }
                    ),
                )
                return True
        return False

    def _operation(self, text: str) -> tuple[str, str]:
        match = _SCOPE.search(self.headers.get("Authorization", ""))
        service = match["service"] if match else "unknown"
        target = self.headers.get("X-Amz-Target")
        if target:
            return service, target.rsplit(".", 1)[-1]
        if service == "s3":
            query = urlsplit(self.path).query
            if self.command == "GET" and "list-type=2" in query:
                return service, "ListObjectsV2"
            if self.command == "GET" and "location" in dict(parse_qsl(query, keep_blank_values=True)):
                return service, "GetBucketLocation"  # GET /bucket?location, not an object's GET
            return service, {"GET": "GetObject", "PUT": "PutObject", "DELETE": "DeleteObject"}.get(
                self.command, self.command
            )
        return service, dict(parse_qsl(text)).get("Action", "unknown")

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """To moto, on this connection's own kept-alive connection (one per client connection, so per thread)."""
        headers = {name: value for name, value in self.headers.items() if name.lower() not in _HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        for attempt in (1, 2):  # a kept connection moto closed meanwhile: once more on a new one
            if self._upstream is None:
                self._upstream = http.client.HTTPConnection(*self.server.state.target, timeout=60)
            try:
                self._upstream.request(self.command, self.path, body=body, headers=headers)
                response = self._upstream.getresponse()
                answer = response.read()
            except (ConnectionError, http.client.HTTPException):
                self._upstream.close()
                self._upstream = None
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                self._upstream.close()
                self._upstream = None
            return response.status, response.getheaders(), answer
        raise AssertionError("unreachable")

    def finish(self) -> None:
        if self._upstream is not None:
            self._upstream.close()
        super().finish()

    def _reorder_maps(self, headers: list[tuple[str, str]], answer: bytes) -> tuple[list[tuple[str, str]], bytes]:
        """Every Map in a DynamoDB answer with its keys in another order (and the answer's CRC32, which botocore
        checks, made anew)."""
        state = self.server.state
        rng = state.map_rng or random.Random(state.map_seed)  # noqa: S311 - a model, not security

        def reorder(value: Any) -> Any:
            if isinstance(value, list):
                return [reorder(item) for item in value]
            if not isinstance(value, dict):
                return value
            items = [(key, reorder(item)) for key, item in value.items()]
            if set(value) == {"M"} and isinstance(value["M"], dict):
                entries = list(items[0][1].items())
                if state.map_order == "reversed":
                    entries.reverse()
                else:
                    rng.shuffle(entries)
                return {"M": dict(entries)}
            return dict(items)

        try:
            parsed = json.loads(answer)
        except ValueError:
            return headers, answer
        data = json.dumps(reorder(parsed)).encode()
        crc = str(zlib.crc32(data) & 0xFFFFFFFF)
        return [(name, crc if name.lower() == "x-amz-crc32" else value) for name, value in headers], data

    def _fifo(self, text: str, body: bytes) -> tuple[bytes, bool]:
        """SNS FIFO: the same deduplication id within 5 minutes (on the stack's clock) is accepted and dropped.
        A publish outside the window goes on under a fresh id, so that moto's real-time deduplication does not
        drop what SNS would deliver."""
        params = dict(parse_qsl(text, keep_blank_values=True))
        topic, dedup = params.get("TopicArn", ""), params.get("MessageDeduplicationId")
        if not topic.endswith(".fifo") or not dedup:
            return body, False
        state = self.server.state
        now = state.clock()
        with state.lock:
            first = state.fifo_seen.get((topic, dedup))
            if first is not None and now - first < FIFO_DEDUPLICATION_WINDOW:
                state.deduplicated += 1
                return body, True
            state.fifo_seen[(topic, dedup)] = now
        params["MessageDeduplicationId"] = hashlib.sha256(f"{dedup}#{now.isoformat()}".encode()).hexdigest()
        return urlencode(params).encode(), False

    def _answer_publish_duplicate(self) -> None:
        message_id = secrets.token_hex(16)
        self._send(
            200,
            "text/xml",
            f'<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>'
            f"<MessageId>{message_id}</MessageId><SequenceNumber>{int(time.time() * 1e6)}</SequenceNumber>"
            f"</PublishResult><ResponseMetadata><RequestId>{secrets.token_hex(8)}</RequestId>"
            "</ResponseMetadata></PublishResponse>",
        )

    def _refuse_entries(self, fault: Fault, text: str) -> None:
        entries = json.loads(text or "{}").get("Entries", [])
        refused = [{"ErrorCode": fault.code, "ErrorMessage": "Injected by the local stack"} for _ in entries]
        self._send(
            200, "application/x-amz-json-1.1", json.dumps({"FailedEntryCount": len(refused), "Entries": refused})
        )

    def _error(self, service: str, fault: Fault) -> None:
        message = f"Injected by the local stack: {fault.code}"
        if service == "events":  # awsJson1_1
            self._send(
                fault.status, "application/x-amz-json-1.1", json.dumps({"__type": fault.code, "message": message})
            )
        elif service == "states":  # awsJson1_0: Step Functions, the callback channel's SendTaskSuccess/Failure
            self._send(
                fault.status, "application/x-amz-json-1.0", json.dumps({"__type": fault.code, "message": message})
            )
        elif service in ("dynamodb", "sqs"):  # awsJson1_0
            prefix = "com.amazonaws.dynamodb.v20120810" if service == "dynamodb" else "com.amazonaws.sqs"
            self._send(
                fault.status,
                "application/x-amz-json-1.0",
                json.dumps({"__type": f"{prefix}#{fault.code}", "message": message}),
                {"x-amzn-query-error": f"{fault.code};Sender"} if service == "sqs" else {},
            )
        elif service == "s3":
            self._send(
                fault.status, "application/xml", f"<Error><Code>{fault.code}</Code><Message>{message}</Message></Error>"
            )
        else:  # awsQuery: SNS
            kind = "Receiver" if fault.status >= 500 else "Sender"
            self._send(
                fault.status,
                "text/xml",
                f'<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>{kind}</Type>'
                f"<Code>{fault.code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>{secrets.token_hex(8)}</RequestId></ErrorResponse>",
            )

    def _send(self, status: int, content_type: str, text: str, extra: dict[str, str] | None = None) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", secrets.token_hex(16))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
