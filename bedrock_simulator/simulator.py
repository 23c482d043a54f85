"""A Bedrock Runtime simulator for the async-invoke calls, speaking rest-json on the wire as botocore expects.

Nothing in moto or LocalStack emulates StartAsyncInvoke, GetAsyncInvoke or ListAsyncInvokes, so this does.
An unchanged boto3 client reaches it through `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` (or `endpoint_url`).

    python -m bedrock_simulator --port 4599 --time-factor 0.05 --failure-rate 0.1

Each invocation runs for a duration drawn from its model's profile, multiplied by the time factor, then
ends Completed or Failed (at the failure rate) and writes its output under its `s3Uri`, a folder per
invocation id, the files each model writes (a failed job writes nothing, but Marengo's error.txt). Faults
(throttling, 5xx, latency) can be injected per operation, from tests in-process or over HTTP
(`POST /_simulator/faults`); `GET /_simulator/stats` counts the calls.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import re
import secrets
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

ARN_PATTERN = re.compile(
    r"^arn:(?P<partition>aws(-[a-z]+)*):bedrock:(?P<region>[a-z0-9-]{1,20}):(?P<account>[0-9]{12}):"
    r"async-invoke/(?P<id>[a-z0-9]{12})$"
)
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)/aws4_request")
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
FAILURE_MESSAGES = (
    "The generated video was blocked by our content filters.",
    "Internal error while generating the output. Please try again.",
)


class SimulatedError(Exception):
    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message


def validation(message: str) -> SimulatedError:
    return SimulatedError("ValidationException", 400, message)


@dataclass(frozen=True)
class ModelProfile:
    """Seconds a job takes (before the time factor) and the files it writes into its folder."""

    seconds: Callable[[dict[str, Any], random.Random], float]
    files: tuple[str, ...]


def _nova_reel_seconds(model_input: dict[str, Any], rng: random.Random) -> float:
    # AWS: about 90 s for a 6 s video, 14 to 17 minutes for a 2-minute one; in between, roughly a power law.
    config = model_input.get("videoGenerationConfig") or {}
    video = float(config.get("durationSeconds") or 6)
    return float(90.0 * (video / 6.0) ** 0.77 * rng.uniform(0.9, 1.12))


PROFILES: dict[str, ModelProfile] = {
    "amazon.nova-reel-v1:0": ModelProfile(_nova_reel_seconds, ("output.mp4", "manifest.json")),
    "amazon.nova-reel-v1:1": ModelProfile(_nova_reel_seconds, ("output.mp4", "manifest.json")),
    "luma.ray-v2:0": ModelProfile(lambda _i, rng: rng.uniform(60, 180), ("output.mp4",)),
    "twelvelabs.marengo-embed-2-7-v1:0": ModelProfile(lambda _i, rng: rng.uniform(20, 120), ("output.json",)),
    "twelvelabs.marengo-embed-3-0-v1:0": ModelProfile(lambda _i, rng: rng.uniform(20, 120), ("output.json",)),
    # The Nova guide's async output: the job's result per modality, one JSONL of embeddings each, a manifest.
    "amazon.nova-2-multimodal-embeddings-v1:0": ModelProfile(
        lambda _i, rng: rng.uniform(10, 60),
        ("segmented-embedding-result.json", "embedding-audio-video.jsonl", "manifest.json"),
    ),
}
# Past its end of life (its model card's EOL date) Bedrock refuses a model's new jobs, with this answer (seen for
# other models past theirs). Marengo Embed 2.7's card: EOL 2026-11-30. Its jobs started before go on as any.
END_OF_LIFE: dict[str, datetime] = {"twelvelabs.marengo-embed-2-7-v1:0": datetime(2026, 11, 30, tzinfo=UTC)}
END_OF_LIFE_MESSAGE = (
    "This model version has reached the end of its life. Please refer to the AWS documentation for more details."
)
NOT_ASYNC_MESSAGE = "The provided model doesn't support async inference."
# Nova Multimodal Embeddings' per-modality and per-segment failure reasons (the Nova guide's list).
SEGMENT_FAILURE = ("INTERNAL_SERVER_EXCEPTION", "Something went wrong.")


@dataclass
class Job:
    arn: str
    model_id: str
    model_arn: str
    region: str
    token: str
    output_uri: str
    submit_time: datetime
    end_time: datetime
    fails: bool
    failure_message: str
    tags: list[dict[str, str]]
    output_written: bool = False
    status_lag: timedelta = timedelta(0)  # the status flips this long after the output lands
    bucket_owner: str | None = None  # outputDataConfig's bucketOwner, given for a bucket of another account
    failed_segments: int = 0  # Nova Multimodal Embeddings: segments that failed in a job that still Completed

    @property
    def ended_at(self) -> datetime:
        """When GetAsyncInvoke starts saying Completed or Failed (its endTime)."""
        return self.end_time + self.status_lag

    def status(self, now: datetime) -> str:
        if now < self.ended_at:
            return "InProgress"
        return "Failed" if self.fails else "Completed"

    def describe(self, now: datetime) -> dict[str, Any]:
        status = self.status(now)
        answer: dict[str, Any] = {
            "invocationArn": self.arn,
            "modelArn": self.model_arn,
            "clientRequestToken": self.token,
            "status": status,
            "submitTime": _iso(self.submit_time),
            "lastModifiedTime": _iso(self.submit_time if status == "InProgress" else self.ended_at),
            "outputDataConfig": {
                "s3OutputDataConfig": {"s3Uri": self.output_uri}
                | ({"bucketOwner": self.bucket_owner} if self.bucket_owner else {})
            },
        }
        if status != "InProgress":
            answer["endTime"] = _iso(self.ended_at)
        if status == "Failed":
            answer["failureMessage"] = self.failure_message
        return answer


@dataclass
class Fault:
    """Fail a share of an operation's calls (`rate`) or its next `count` calls with `code`; add `latency`; or,
    with `answer`, answer those calls with these fields changed (an answer a client must not trust)."""

    code: str | None = None
    rate: float = 0.0
    count: int = 0
    latency: float = 0.0
    answer: dict[str, Any] | None = None


_FAULT_STATUS = {
    "ThrottlingException": 429,
    "InternalServerException": 500,
    "ServiceUnavailableException": 503,
    "AccessDeniedException": 403,
    "ValidationException": 400,
}


@dataclass
class Simulator:
    """The service's state and behaviour, independent of HTTP so that tests can drive it directly too."""

    account: str = "123456789012"
    time_factor: float = 1.0
    failure_rate: float = 0.0
    seed: int | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    s3: Any = None  # a boto3 S3 client; when set, endings write their output objects
    status_lag: float = 0.0  # seconds between a job's output landing and its status saying it ended
    default_output_uri: str = "s3://outputs/videos"  # for invocations put in place with add()
    jobs: dict[str, Job] = field(default_factory=dict)
    faults: dict[str, Fault] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    regions: Counter[str] = field(default_factory=Counter)
    asked: list[str] = field(default_factory=list)  # the ARNs of GetAsyncInvoke, in the order they were asked

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._rng = random.Random(self.seed)  # noqa: S311 - simulation, not security
        self._by_token: dict[tuple[str, str], str] = {}

    # -- faults and counters -------------------------------------------------------------------------

    def inject(self, operation: str, fault: Fault) -> None:
        """`operation` is an API name (`GetAsyncInvoke`) or `*` for every call."""
        with self._lock:
            self.faults[operation] = fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def forget(self) -> None:
        """Back to a new service: no invocations, no faults, nothing counted."""
        with self._lock:
            self.jobs.clear()
            self.faults.clear()
            self.calls.clear()
            self.regions.clear()
            self.asked.clear()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            now = self.clock()
            statuses = Counter(job.status(now) for job in self.jobs.values())
            return {"calls": dict(self.calls), "regions": dict(self.regions), "invocations": dict(statuses)}

    def _apply_faults(self, operation: str) -> dict[str, Any]:
        """Sleep, fail, or return the fields to change in the answer (empty: answer as the service would)."""
        with self._lock:
            self.calls[operation] += 1
            fault = self.faults.get(operation) or self.faults.get("*")
            if fault is None:
                return {}
            latency = fault.latency
            fire = False
            if (fault.code or fault.answer) and fault.count > 0:
                fault.count -= 1
                fire = True
            elif (fault.code or fault.answer) and fault.rate > 0:
                fire = self._rng.random() < fault.rate
        if latency:
            time.sleep(latency)
        if fire and fault.code:
            raise SimulatedError(fault.code, _FAULT_STATUS.get(fault.code, 500), f"Simulated {fault.code}")
        return dict(fault.answer or {}) if fire else {}

    # -- the three calls -------------------------------------------------------------------------------

    def start(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        self._apply_faults("StartAsyncInvoke")
        model_id = body.get("modelId")
        if not isinstance(model_id, str) or not model_id:
            raise validation("1 validation error detected: Value null at 'modelId' failed to satisfy constraint")
        model_id = model_id.rsplit("/", 1)[-1]
        profile = PROFILES.get(model_id)
        if profile is None:
            raise validation(NOT_ASYNC_MESSAGE)
        end_of_life = END_OF_LIFE.get(model_id)
        if end_of_life is not None and self.clock() >= end_of_life:
            raise SimulatedError("ResourceNotFoundException", 404, END_OF_LIFE_MESSAGE)
        model_input = body.get("modelInput")
        if not isinstance(model_input, dict):
            raise validation("Malformed input request: modelInput must be a JSON object.")
        s3_config = (body.get("outputDataConfig") or {}).get("s3OutputDataConfig") or {}
        s3_uri = s3_config.get("s3Uri")
        if not isinstance(s3_uri, str) or not s3_uri.startswith("s3://"):
            raise validation("outputDataConfig.s3OutputDataConfig.s3Uri must be an s3:// URI.")
        token = body.get("clientRequestToken") or secrets.token_hex(16)
        with self._lock:
            existing = self._by_token.get((region, token))
            if existing is not None:  # idempotent: the same token starts nothing new
                return {"invocationArn": existing}
            now = self.clock()
            invocation_id = "".join(self._rng.choice(_ID_ALPHABET) for _ in range(12))
            arn = f"arn:aws:bedrock:{region}:{self.account}:async-invoke/{invocation_id}"
            seconds = profile.seconds(model_input, self._rng) * self.time_factor
            fails = self._rng.random() < self.failure_rate
            self.jobs[arn] = Job(
                arn=arn,
                model_id=model_id,
                model_arn=f"arn:aws:bedrock:{region}::foundation-model/{model_id}",
                region=region,
                token=token,
                output_uri=s3_uri.rstrip("/") + "/" + invocation_id,
                submit_time=now,
                end_time=now + timedelta(seconds=seconds),
                fails=fails,
                failure_message=self._rng.choice(FAILURE_MESSAGES),
                tags=list(body.get("tags") or []),
                status_lag=timedelta(seconds=self.status_lag),
                bucket_owner=s3_config.get("bucketOwner"),
            )
            self._by_token[(region, token)] = arn
        return {"invocationArn": arn}

    def get(self, region: str, arn: str) -> dict[str, Any]:
        changes = self._apply_faults("GetAsyncInvoke")
        with self._lock:
            self.asked.append(arn)
        match = ARN_PATTERN.fullmatch(arn)
        if match is None:
            raise validation(
                f"1 validation error detected: Value '{arn}' at 'invocationArn' failed to satisfy constraint"
            )
        if match["account"] != self.account:
            raise SimulatedError(
                "AccessDeniedException", 403, f"User is not authorized to perform: bedrock:GetAsyncInvoke on {arn}"
            )
        with self._lock:
            job = self.jobs.get(arn)
            if job is None or job.region != region:
                raise validation(f"Invocation {arn} was not found.")
            return {**self._settle(job).describe(self.clock()), **changes}

    def list(self, region: str, query: dict[str, str]) -> dict[str, Any]:
        self._apply_faults("ListAsyncInvokes")
        status = query.get("statusEquals")
        if status is not None and status not in ("InProgress", "Completed", "Failed"):
            raise validation(f"Value '{status}' at 'statusEquals' failed to satisfy constraint")
        after = _parse_time(query.get("submitTimeAfter"), "submitTimeAfter")
        before = _parse_time(query.get("submitTimeBefore"), "submitTimeBefore")
        order = query.get("sortOrder", "Descending")
        if order not in ("Ascending", "Descending") or query.get("sortBy", "SubmissionTime") != "SubmissionTime":
            raise validation("sortBy must be SubmissionTime and sortOrder Ascending or Descending")
        try:
            limit = int(query.get("maxResults", "1000"))
        except ValueError as exc:
            raise validation("maxResults must be a number") from exc
        if not 1 <= limit <= 1000:
            raise validation("maxResults must be between 1 and 1000")
        offset = _decode_token(query.get("nextToken"))
        with self._lock:
            now = self.clock()
            jobs = [
                self._settle(job)
                for job in self.jobs.values()
                if job.region == region
                and (status is None or job.status(now) == status)
                and (after is None or job.submit_time > after)
                and (before is None or job.submit_time < before)
            ]
            jobs.sort(key=lambda job: (job.submit_time, job.arn), reverse=order == "Descending")
            page = jobs[offset : offset + limit]
            answer: dict[str, Any] = {"asyncInvokeSummaries": [job.describe(now) for job in page]}
        if offset + limit < len(jobs):
            answer["nextToken"] = base64.urlsafe_b64encode(str(offset + limit).encode()).decode()
        return answer

    def add(
        self,
        arn: str,
        *,
        model_id: str = "amazon.nova-reel-v1:1",
        seconds: float = 3600.0,
        fails: bool = False,
        output_uri: str | None = None,
        bucket_owner: str | None = None,
    ) -> str:
        """Put an invocation with a known ARN in place, as if started earlier (tests and events/ use fixed ARNs)."""
        match = ARN_PATTERN.fullmatch(arn)
        if match is None:
            raise ValueError(f"not an async-invoke ARN: {arn}")
        with self._lock:
            now = self.clock()
            self.jobs[arn] = Job(
                arn=arn,
                model_id=model_id,
                model_arn=f"arn:aws:bedrock:{match['region']}::foundation-model/{model_id}",
                region=match["region"],
                token=secrets.token_hex(16),
                output_uri=(output_uri or self.default_output_uri).rstrip("/") + "/" + match["id"],
                submit_time=now,
                end_time=now + timedelta(seconds=seconds),
                fails=fails,
                failure_message=FAILURE_MESSAGES[0],
                tags=[],
                status_lag=timedelta(seconds=self.status_lag),
                bucket_owner=bucket_owner,
            )
        return arn

    def age_out(self, arn: str) -> None:
        """Forget one invocation, as Bedrock does some time after it ends (or past its model's end of life): asked
        about, its ARN answers ValidationException, as an unknown one does; its output stays where it is."""
        with self._lock:
            self.jobs.pop(arn)

    def fail_segments(self, arn: str, count: int) -> None:
        """Have `count` segments of a Nova Multimodal Embeddings job fail while the job itself ends Completed."""
        with self._lock:
            self.jobs[arn].failed_segments = count

    def end(self, arn: str, *, failed: bool = False, message: str | None = None) -> None:
        """End an invocation now, Completed or Failed (its output lands now; its status follows after the lag)."""
        with self._lock:
            job = self.jobs[arn]
            job.end_time = min(job.end_time, self.clock())
            job.fails = failed
            if message is not None:
                job.failure_message = message
            self._settle(job)

    # -- endings ----------------------------------------------------------------------------------------

    def settle_all(self) -> None:
        """Write the output of every job that has ended (the server does this on a timer)."""
        with self._lock:
            for job in list(self.jobs.values()):
                self._settle(job)

    def _settle(self, job: Job) -> Job:
        if job.output_written or self.clock() < job.end_time:
            return job
        job.output_written = True
        if self.s3 is not None:
            self._write_output(job)
        return job

    def _write_output(self, job: Job) -> None:
        """A completed job's files; a failed one writes nothing (as the public samples that wait for files find),
        except TwelveLabs Marengo's error.txt (AWS's Media Lake guidance)."""
        bucket, _, prefix = job.output_uri.removeprefix("s3://").partition("/")
        if job.fails:
            if not job.model_id.startswith("twelvelabs.marengo"):
                return
            files = {"error.txt": job.failure_message.encode()}
        else:
            files = {name: _output_bytes(name, job) for name in PROFILES[job.model_id].files}
            if job.model_id.startswith("amazon.nova-reel"):
                status = {"status": "Completed", "invocationArn": job.arn}
                files["generation-status.json"] = json.dumps(status).encode()
        for name, data in files.items():
            try:
                self.s3.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=data)
            except Exception as exc:  # noqa: BLE001 - a missing bucket must not stop the simulated service
                print(f"simulator: could not write s3://{bucket}/{prefix}/{name}: {exc}")


SEGMENTS = 4  # segments of a simulated Nova Multimodal Embeddings job


def _output_bytes(name: str, job: Job) -> bytes:
    folder = job.output_uri.rstrip("/")
    if name == "segmented-embedding-result.json":  # the Nova guide's schema; one modality here
        result: dict[str, Any] = {
            "embeddingType": "AUDIO_VIDEO_COMBINED",
            "status": "SUCCESS",
            "outputFileUri": f"{folder}/embedding-audio-video.jsonl",
        }
        if job.failed_segments:
            reason, message = SEGMENT_FAILURE
            status = "FAILURE" if job.failed_segments >= SEGMENTS else "PARTIAL_SUCCESS"
            result.update(status=status, failureReason=reason, message=message)
        body = {"sourceFileUri": "s3://inputs/video.mp4", "embeddingDimension": 1024, "embeddingResults": [result]}
        return json.dumps(body).encode()
    if name.endswith(".jsonl"):  # one line per segment, each with its own status
        lines = []
        for index in range(SEGMENTS):
            meta = {"segmentIndex": index, "segmentStartSeconds": 15.0 * index, "segmentEndSeconds": 15.0 * index + 15}
            line: dict[str, Any] = {"embedding": [0.0] * 8, "segmentMetadata": meta, "status": "SUCCESS"}
            if index < job.failed_segments:
                reason, message = SEGMENT_FAILURE
                line = {"segmentMetadata": meta, "status": "FAILURE", "failureReason": reason, "message": message}
            lines.append(json.dumps(line))
        return ("\n".join(lines) + "\n").encode()
    if name == "manifest.json":
        return json.dumps({"schemaVersion": "1.0", "invocationArn": job.arn, "outputs": ["output.mp4"]}).encode()
    if name.endswith(".json"):
        return json.dumps({"embedding": [0.0] * 8, "invocationArn": job.arn}).encode()
    return b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 1024  # the start of an MP4, enough to list and size


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise validation(f"{name} is not an ISO-8601 time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode())
    except ValueError as exc:
        raise validation("The nextToken is not valid.") from exc


class _Handler(BaseHTTPRequestHandler):
    server: SimulatorServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm and the client's delayed ACK every
    # answer would wait ~40 ms, which no AWS endpoint does.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        simulator = self.server.simulator
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            if url.path.startswith("/_simulator/"):
                self._control(method, url.path, raw)
                return
            region = self._region()
            simulator.regions[region] += 1
            if method == "POST" and url.path == "/async-invoke":
                self._reply(200, simulator.start(region, self._json(raw)))
            elif method == "GET" and url.path == "/async-invoke":
                query = {name: values[-1] for name, values in parse_qs(url.query).items()}
                self._reply(200, simulator.list(region, query))
            elif method == "GET" and url.path.startswith("/async-invoke/"):
                self._reply(200, simulator.get(region, unquote(url.path[len("/async-invoke/") :])))
            else:
                raise SimulatedError("UnknownOperationException", 404, f"{method} {url.path} is not an operation")
        except SimulatedError as exc:
            self._reply(exc.status, {"message": exc.message}, error_type=exc.code)

    def _region(self) -> str:
        match = _CREDENTIAL_SCOPE.search(self.headers.get("Authorization", ""))
        if match is None:
            raise SimulatedError("MissingAuthenticationTokenException", 403, "Missing Authentication Token")
        return match["region"]

    def _json(self, raw: bytes) -> dict[str, Any]:
        try:
            body = json.loads(raw or b"{}")
        except ValueError as exc:
            raise SimulatedError("SerializationException", 400, "Request body is not JSON") from exc
        if not isinstance(body, dict):
            raise SimulatedError("SerializationException", 400, "Request body is not a JSON object")
        return body

    def _control(self, method: str, path: str, raw: bytes) -> None:
        simulator = self.server.simulator
        if method == "GET" and path == "/_simulator/stats":
            self._reply(200, simulator.stats())
        elif method == "POST" and path == "/_simulator/faults":
            body = self._json(raw)
            simulator.clear_faults()
            for operation, fault in body.items():
                simulator.inject(operation, Fault(**fault))
            self._reply(200, {"faults": list(body)})
        else:
            self._reply(404, {"message": "unknown control path"})

    def _reply(self, status: int, body: dict[str, Any], *, error_type: str | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status, HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else None)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", secrets.token_hex(16))
        if error_type:
            self.send_header("x-amzn-ErrorType", f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/")
        self.end_headers()
        self.wfile.write(data)


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # as AwsProxy: an endpoint that drops no connection

    def __init__(self, simulator: Simulator, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.simulator = simulator
        self._stop = threading.Event()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that goes away mid-connection (a stopped function process) is not the service's error."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    @property
    def endpoint(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SimulatorServer:
        threading.Thread(target=self.serve_forever, name="bedrock-simulator", daemon=True).start()
        threading.Thread(target=self._settle_loop, name="bedrock-simulator-endings", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.shutdown()
        self.server_close()

    def _settle_loop(self) -> None:
        while not self._stop.wait(0.2):
            self.simulator.settle_all()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bedrock_simulator", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4599)
    parser.add_argument("--account", default="123456789012")
    parser.add_argument("--time-factor", type=float, default=1.0, help="multiplies every job's duration")
    parser.add_argument("--failure-rate", type=float, default=0.1, help="share of jobs that end Failed")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--s3-endpoint", default=None, help="where to write outputs (moto's server, say)")
    args = parser.parse_args(argv)
    s3 = None
    if args.s3_endpoint:
        import boto3

        s3 = boto3.client("s3", endpoint_url=args.s3_endpoint, region_name="us-east-1")
    simulator = Simulator(
        account=args.account, time_factor=args.time_factor, failure_rate=args.failure_rate, seed=args.seed, s3=s3
    )
    server = SimulatorServer(simulator, args.host, args.port)
    print(f"Bedrock Runtime simulator on {server.endpoint} (export AWS_ENDPOINT_URL_BEDROCK_RUNTIME={server.endpoint})")
    server.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
