"""AWS's public endpoints, stood in for by moto: so that the README's commands for a deployed stack run exactly as
written, with nothing but the environment a corporate network might give them.

An HTTPS proxy (`HTTPS_PROXY`) terminates TLS for *.amazonaws.com with a certificate from a test authority
(`AWS_CA_BUNDLE`) and forwards each request to moto's server. `aws sqs send-message` then reaches moto even from
AWS CLI v1, which sends it to queue.amazonaws.com whatever `AWS_ENDPOINT_URL` says.
"""

from __future__ import annotations

import datetime
import socketserver
import ssl
import threading
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from localrun.aws_proxy import ProxyState
from localrun.aws_proxy import _Handler as _Forward

NAMES = [
    "*.amazonaws.com",
    "*.us-east-1.amazonaws.com",
    "queue.amazonaws.com",
    "*.s3.amazonaws.com",  # S3's virtual-hosted names: my-bucket.s3.amazonaws.com
    "*.s3.us-east-1.amazonaws.com",
]


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A test authority and, signed by it, a certificate for AWS's endpoint names."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bedrock-async-tracker test authority")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "amazonaws.com")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in NAMES]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = directory / "ca.pem", directory / "endpoint.pem", directory / "endpoint.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_file, cert_file, key_file


class _Connect(socketserver.StreamRequestHandler):
    server: AwsEndpoints

    def handle(self) -> None:
        request = self.rfile.readline().decode("latin-1").split()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # the rest of the CONNECT request's headers
        if len(request) < 2 or request[0] != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        tls = self.server.tls.wrap_socket(self.connection, server_side=True)
        _Forward(tls, self.client_address, self.server.forward)  # serves the requests inside the tunnel


class _ForwardTarget:
    """What the forwarding handler needs of its server: where to send (and no faults to inject)."""

    def __init__(self, target: str) -> None:
        host, port = target.removeprefix("http://").split(":")
        self.state = ProxyState(target=(host, int(port)))


class AwsEndpoints(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, target: str, directory: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Connect)
        self.ca_file, cert, key = _certificates(directory)
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.load_cert_chain(cert, key)
        self.forward: Any = _ForwardTarget(target)

    def start(self) -> AwsEndpoints:
        threading.Thread(target=self.serve_forever, name="aws-endpoints", daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def environment(self) -> dict[str, str]:
        """What a shell needs to reach "AWS" here: the proxy and its authority, nothing else."""
        return {
            "HTTPS_PROXY": f"http://127.0.0.1:{self.server_address[1]}",
            "AWS_CA_BUNDLE": str(self.ca_file),
            "NO_PROXY": "",
        }
