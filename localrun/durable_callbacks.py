"""A stand-in for Lambda's durable execution callback API, which nothing here executes: the function reaches it
through `AWS_ENDPOINT_URL_LAMBDA`, as it would reach Lambda.

Each request is checked against botocore's lambda model (the operation's method and path, the callback id's length
and pattern, the payload's members and types) and signed for the `lambda` service; a request the model would not
allow is answered as Lambda answers one (InvalidParameterValueException). What a waiting durable function would get
is recorded (`received`). A callback id is opened by `open()`; the first success or failure closes it, and every
later one is refused with CallbackTimeoutException, as Lambda refuses a callback "already closed"; an id never opened
is a ResourceNotFoundException (the stand-in's choice: Lambda's answer to an unknown id is not documented).
`inject` makes the next requests fail as Lambda can (TooManyRequestsException, ServiceException), with no effect."""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import botocore.session

_MODEL = botocore.session.get_session().get_service_model("lambda")
OPERATIONS = (
    "SendDurableExecutionCallbackSuccess",
    "SendDurableExecutionCallbackFailure",
    "SendDurableExecutionCallbackHeartbeat",
)
# The API reference bounds a success's Result to 256 KB (botocore's model allows 1 MiB): the smaller holds here.
MAX_RESULT_BYTES = 262_144
_SIGNED_FOR_LAMBDA = re.compile(r"Credential=[^/]+/\d{8}/[a-z0-9-]+/lambda/aws4_request")


def _route(name: str) -> tuple[str, re.Pattern[str]]:
    """An operation's method, and its request URI (`.../{CallbackId}/succeed`) as a pattern."""
    http = _MODEL.operation_model(name).http
    return http["method"], re.compile("^" + re.escape(http["requestUri"]).replace(r"\{CallbackId\}", "([^/?]+)") + "$")


_ROUTES = {name: _route(name) for name in OPERATIONS}


def _operation(method: str, path: str) -> tuple[str, str]:
    """The operation a request is, and its callback id (URL-decoded)."""
    for name, (allowed, pattern) in _ROUTES.items():
        match = pattern.match(path)
        if match and method == allowed:
            return name, unquote(match.group(1))
    raise Refused(404, "UnknownOperationException", f"{method} {path} is none of {', '.join(OPERATIONS)}")


def _members(operation: str) -> dict[str, Any]:
    """The members of an operation's input shape in botocore's model."""
    shape = _MODEL.operation_model(operation).input_shape
    assert shape is not None, operation
    return dict(shape.members)


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class DurableCall:
    """One accepted request: its operation, the callback id, and what it carried (`result` bytes, `error` object)."""

    operation: str
    callback_id: str
    result: bytes | None = None
    error: dict[str, Any] | None = None


@dataclass
class DurableCallbacks:
    """Start with `start()`; `endpoint` is what AWS_ENDPOINT_URL_LAMBDA names."""

    port: int = 0
    received: list[DurableCall] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (code, message) of each refused request
    faults: list[Refused] = field(default_factory=list)  # the next requests' answers, one each (`inject`)
    _open: set[str] = field(default_factory=set)
    _closed: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()

    def start(self) -> DurableCallbacks:
        stand_in = self

        class Handler(_Handler):
            callbacks = stand_in

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True, name="durable-callbacks").start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def open(self) -> str:
        """A new callback id, as a durable function's waitForCallback makes one (base64, with + and / in it)."""
        callback_id = base64.b64encode(b"\xfb\xff" + secrets.token_bytes(31)).decode()
        with self.lock:
            self._open.add(callback_id)
        return callback_id

    def inject(self, code: str = "ServiceException", status: int = 500, *, times: int = 1) -> None:
        """The next `times` well-formed requests fail with `code`; nothing they carry takes effect."""
        with self.lock:
            self.faults.extend(Refused(status, code, "Injected by the local stack") for _ in range(times))

    def clear(self) -> None:
        with self.lock:
            self.received.clear()
            self.refused.clear()
            self.faults.clear()

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        """Check one request against the model and act on it; raises Refused with Lambda's answer."""
        if not _SIGNED_FOR_LAMBDA.search(headers.get("authorization", "")):
            raise Refused(403, "AccessDeniedException", "the request is not signed for the lambda service")
        name, callback_id = _operation(method, path)
        self._check_callback_id(callback_id)
        call = DurableCall(name, callback_id)
        if name == "SendDurableExecutionCallbackSuccess":
            if len(body) > MAX_RESULT_BYTES:
                raise Refused(400, "InvalidParameterValueException", f"Result is {len(body)} bytes, over 256 KB")
            call.result = body
        elif name == "SendDurableExecutionCallbackFailure":
            call.error = self._error_object(body)
        elif body:
            raise Refused(400, "InvalidParameterValueException", "a heartbeat carries no body")
        with self.lock:
            if self.faults:
                raise self.faults.pop(0)
            if callback_id in self._closed:
                raise Refused(400, "CallbackTimeoutException", "the callback has already been closed")
            if callback_id not in self._open:
                raise Refused(404, "ResourceNotFoundException", "no such callback")
            if name != "SendDurableExecutionCallbackHeartbeat":
                self._open.discard(callback_id)
                self._closed.add(callback_id)
            self.received.append(call)

    @staticmethod
    def _check_callback_id(callback_id: str) -> None:
        shape = _members(OPERATIONS[0])["CallbackId"]
        low, high, pattern = shape.metadata["min"], shape.metadata["max"], shape.metadata["pattern"]
        if not low <= len(callback_id) <= high or not re.fullmatch(pattern, callback_id):
            raise Refused(400, "InvalidParameterValueException", f"CallbackId must match {pattern}, {low}-{high}")

    @staticmethod
    def _error_object(body: bytes) -> dict[str, Any]:
        """The failure's payload: the model's ErrorObject, nothing else."""
        shape = _members("SendDurableExecutionCallbackFailure")["Error"]
        try:
            error = json.loads(body or b"{}")
        except ValueError as exc:
            raise Refused(400, "InvalidParameterValueException", f"the body is not JSON: {exc}") from exc
        if not isinstance(error, dict):
            raise Refused(400, "InvalidParameterValueException", "the error is not an object")
        for name, value in error.items():
            member = shape.members.get(name)
            if member is None:
                raise Refused(400, "InvalidParameterValueException", f"ErrorObject has no member {name}")
            expected = list if member.type_name == "list" else str
            if not isinstance(value, expected) or (expected is list and not all(isinstance(v, str) for v in value)):
                raise Refused(400, "InvalidParameterValueException", f"{name} must be a {member.type_name}")
        return error


class _Handler(BaseHTTPRequestHandler):
    callbacks: DurableCallbacks
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            self.callbacks.handle(self.command, self.path, headers, body)
        except Refused as refusal:
            with self.callbacks.lock:
                self.callbacks.refused.append((refusal.code, refusal.message))
            self._answer(refusal.status, json.dumps({"Type": "User", "message": refusal.message}).encode(), refusal)
            return
        self._answer(200, b"")

    do_GET = do_PUT = do_DELETE = do_POST

    def _answer(self, status: int, body: bytes, refusal: Refused | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", secrets.token_hex(16))
        if refusal is not None:
            self.send_header("x-amzn-ErrorType", refusal.code)
        self.end_headers()
        self.wfile.write(body)
