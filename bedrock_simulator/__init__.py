"""A Bedrock Runtime simulator for the async-invoke calls (StartAsyncInvoke, GetAsyncInvoke, ListAsyncInvokes),
speaking rest-json on the wire as botocore expects: the only emulator of these calls we know of, so it stands alone.
It needs the standard library only (boto3 just to write outputs to an S3 endpoint, if given one).

    python -m bedrock_simulator --port 4599
    export AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:4599

In a test: `SimulatorServer(Simulator(time_factor=0.01), "127.0.0.1", 0).start()`, then its `endpoint`.
"""

from .simulator import ARN_PATTERN, Fault, Job, ModelProfile, SimulatedError, Simulator, SimulatorServer, main

__all__ = ["ARN_PATTERN", "Fault", "Job", "ModelProfile", "SimulatedError", "Simulator", "SimulatorServer", "main"]
