"""A real Kubernetes control plane on loopback for end-to-end tests: etcd plus kube-apiserver.

``start_cluster(tmpdir)`` starts both from the binaries ``scripts/tools.sh`` builds, waits until
the API server reports ready, writes a kubeconfig, and returns a ``Cluster`` whose ``stop()``
kills both processes and removes their files. It needs no pytest; ``cluster_fixture()`` wraps
it as a session fixture.

What runs, and what does not:

- etcd listens for clients and peers on 127.0.0.1 only, with its data in the temporary folder.
- kube-apiserver binds 127.0.0.1 and serves TLS with a certificate from a CA made here. The
  admin credential is a static bearer token in the ``system:masters`` group; authorization is
  RBAC, under which that group may do everything.
- There is no controller-manager, scheduler or kubelet: objects are stored and admission runs
  on every write, but pods never start, deployments get no replica sets and deleted namespaces
  stay ``Terminating``. The ``ServiceAccount`` admission plugin is turned off because without
  the controller-manager no namespace gets its ``default`` service account, and the plugin
  would reject every pod. Admission webhooks (``ValidatingAdmissionWebhook``,
  ``MutatingAdmissionWebhook``) and ``NamespaceLifecycle`` stay on.
- ``--service-cluster-ip-range`` is only a CIDR the API server allocates service IPs from;
  nothing is routed there, and ``--endpoint-reconciler-type=none`` keeps the API server from
  publishing its own address as the ``kubernetes`` service's endpoint.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REPO = Path(__file__).resolve().parents[2]
SERVICE_CIDR = "10.0.0.0/24"
START_TIMEOUT = 90.0


class ToolMissing(RuntimeError):
    """A binary that scripts/tools.sh builds is not there."""


def tools_bin() -> Path:
    return Path(os.environ.get("MODELWARD_TOOLS_CACHE", REPO / "tools-cache")) / "bin"


def tool_path(name: str) -> Path:
    path = tools_bin() / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise ToolMissing(
            f"{path} is missing; build it with `bash scripts/tools.sh {name}` "
            "(or `make tools` for all of them)"
        )
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- certificates ------------------------------------------------------------------------------


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass
class CertAuthority:
    """A throwaway CA that issues serving and client certificates for tests."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(cls, common_name: str = "modelward-test-ca") -> CertAuthority:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def ca_bundle(self) -> str:
        """The CA as a webhook ``clientConfig.caBundle`` value (base64 of the PEM)."""
        return base64.b64encode(self.cert_pem).decode()

    def issue(
        self,
        common_name: str,
        *,
        ips: tuple[str, ...] = ("127.0.0.1",),
        dns: tuple[str, ...] = ("localhost",),
        organizations: tuple[str, ...] = (),
        client: bool = False,
    ) -> tuple[bytes, bytes]:
        """A (certificate PEM, key PEM) pair for a server, or a client when ``client``."""
        key = ec.generate_private_key(ec.SECP256R1())
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        attributes += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
        now = datetime.datetime.now(datetime.UTC)
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
        )
        if not client:
            names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
            names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)

    def server_context(self, folder: Path, common_name: str = "localhost") -> ssl.SSLContext:
        """A TLS server context for 127.0.0.1/localhost, its files written into ``folder``."""
        cert_pem, key_pem = self.issue(common_name)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{common_name}.crt").write_bytes(cert_pem)
        (folder / f"{common_name}.key").write_bytes(key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(folder / f"{common_name}.crt", folder / f"{common_name}.key")
        return context


# --- processes ---------------------------------------------------------------------------------


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        self.log.flush()
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 10.0) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    self.popen.kill()
                self.popen.wait(timeout=grace)
        self.log.close()


def _spawn(name: str, argv: list[str], workdir: Path) -> _Process:
    log_path = workdir / f"{name}.log"
    log = log_path.open("wb")
    popen = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
        start_new_session=True,
    )
    return _Process(name, popen, log_path, log)


def _wait_until(
    what: str, probe: Callable[[], bool], processes: list[_Process], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        for process in processes:
            if not process.alive():
                raise RuntimeError(
                    f"{process.name} exited with code {process.popen.returncode} while "
                    f"waiting for {what}; last log lines:\n{process.log_tail()}"
                )
        if probe():
            return
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.name}:\n{p.log_tail()}" for p in processes)
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}\n{tails}")
        time.sleep(0.2)


def _http_ok(url: str, context: ssl.SSLContext | None = None, token: str | None = None) -> bool:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=2, context=context) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ssl.SSLError):
        return False


# --- the cluster -------------------------------------------------------------------------------


@dataclass
class Cluster:
    """A running etcd + kube-apiserver pair; ``stop()`` ends both and removes their files."""

    kubeconfig_path: Path
    server_url: str
    token: str
    ca_path: Path
    ca: CertAuthority
    workdir: Path
    _processes: list[_Process] = field(default_factory=list, repr=False)
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        errors = []
        for process in reversed(self._processes):  # the API server first, then etcd
            try:
                process.stop()
            except Exception as exc:  # keep stopping the others
                errors.append(f"{process.name}: {exc}")
        shutil.rmtree(self.workdir, ignore_errors=True)
        if errors:
            raise RuntimeError("stopping the cluster failed: " + "; ".join(errors))

    @property
    def pids(self) -> list[int]:
        """The process ids of etcd and kube-apiserver."""
        return [p.popen.pid for p in self._processes]

    def logs(self) -> dict[str, str]:
        """The last lines each process logged (for failure messages)."""
        return {p.name: p.log_tail() for p in self._processes}

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _kubeconfig(server_url: str, ca_path: Path, token: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "modelward-e2e",
                "cluster": {"server": server_url, "certificate-authority": str(ca_path)},
            }
        ],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [
            {"name": "modelward-e2e", "context": {"cluster": "modelward-e2e", "user": "admin"}}
        ],
        "current-context": "modelward-e2e",
    }


def _start_etcd(binary: Path, workdir: Path) -> tuple[_Process, str]:
    client_port, peer_port = free_port(), free_port()
    client_url = f"http://127.0.0.1:{client_port}"
    peer_url = f"http://127.0.0.1:{peer_port}"
    argv = [
        str(binary),
        "--name=e2e",
        f"--data-dir={workdir / 'etcd-data'}",
        f"--listen-client-urls={client_url}",
        f"--advertise-client-urls={client_url}",
        f"--listen-peer-urls={peer_url}",
        f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster=e2e={peer_url}",
        "--initial-cluster-state=new",
        "--unsafe-no-fsync=true",  # throwaway data: no need to wait for the disk
        "--log-level=warn",
    ]
    process = _spawn("etcd", argv, workdir)
    return process, client_url


def _apiserver_argv(binary: Path, workdir: Path, etcd_url: str, port: int, token: str) -> list[str]:
    issuer = f"https://127.0.0.1:{port}"
    return [
        str(binary),
        f"--etcd-servers={etcd_url}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={workdir / 'certs'}",
        f"--tls-cert-file={workdir / 'apiserver.crt'}",
        f"--tls-private-key-file={workdir / 'apiserver.key'}",
        f"--client-ca-file={workdir / 'ca.crt'}",
        f"--token-auth-file={workdir / 'tokens.csv'}",
        f"--service-account-issuer={issuer}",
        f"--service-account-key-file={workdir / 'sa.pub'}",
        f"--service-account-signing-key-file={workdir / 'sa.key'}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--endpoint-reconciler-type=none",
        "--authorization-mode=RBAC",
        "--enable-admission-plugins=NamespaceLifecycle,MutatingAdmissionWebhook,"
        "ValidatingAdmissionWebhook",
        "--disable-admission-plugins=ServiceAccount",
        "--profiling=false",
        "--v=0",
    ]


def start_cluster(tmpdir: str | os.PathLike[str], *, timeout: float = START_TIMEOUT) -> Cluster:
    """Start etcd and kube-apiserver on 127.0.0.1 and wait until the API server is ready.

    Everything goes into a new folder inside ``tmpdir`` that ``Cluster.stop()`` removes.
    Raises ``ToolMissing`` when a binary has not been built, ``RuntimeError`` when a process
    exits or does not get ready within ``timeout`` seconds (with its last log lines).
    """
    etcd_binary = tool_path("etcd")
    apiserver_binary = tool_path("kube-apiserver")
    workdir = Path(tempfile.mkdtemp(prefix="kube-", dir=tmpdir))
    processes: list[_Process] = []
    try:
        ca = CertAuthority.create("modelward-e2e-ca")
        ca_path = workdir / "ca.crt"
        ca_path.write_bytes(ca.cert_pem)
        cert_pem, key_pem = ca.issue(
            "kube-apiserver",
            ips=("127.0.0.1", "10.0.0.1"),
            dns=("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"),
        )
        (workdir / "apiserver.crt").write_bytes(cert_pem)
        (workdir / "apiserver.key").write_bytes(key_pem)
        sa_key = ec.generate_private_key(ec.SECP256R1())
        (workdir / "sa.key").write_bytes(_pem_key(sa_key))
        (workdir / "sa.pub").write_bytes(
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        token = secrets.token_urlsafe(32)
        (workdir / "tokens.csv").write_text(f'{token},admin,admin-uid,"system:masters"\n')
        for name in ("apiserver.key", "sa.key", "tokens.csv"):
            (workdir / name).chmod(0o600)

        etcd, etcd_url = _start_etcd(etcd_binary, workdir)
        processes.append(etcd)
        _wait_until("etcd /health", lambda: _http_ok(f"{etcd_url}/health"), processes, timeout)

        port = free_port()
        server_url = f"https://127.0.0.1:{port}"
        argv = _apiserver_argv(apiserver_binary, workdir, etcd_url, port, token)
        processes.append(_spawn("kube-apiserver", argv, workdir))
        context = ssl.create_default_context(cafile=str(ca_path))
        _wait_until(
            "kube-apiserver /readyz",
            lambda: _http_ok(f"{server_url}/readyz", context, token),
            processes,
            timeout,
        )

        kubeconfig_path = workdir / "kubeconfig"
        kubeconfig_path.write_text(json.dumps(_kubeconfig(server_url, ca_path, token), indent=2))
        kubeconfig_path.chmod(0o600)
        return Cluster(kubeconfig_path, server_url, token, ca_path, ca, workdir, processes)
    except BaseException:
        for process in reversed(processes):
            with contextlib.suppress(Exception):
                process.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def cluster_fixture(
    scope: Literal["session", "package", "module", "class", "function"] = "session",
) -> Any:
    """A pytest fixture that yields a started ``Cluster`` and stops it afterwards.

    Usage in a test module or conftest: ``kube_cluster = cluster_fixture()``. A binary that has
    not been built fails the tests that use it (it does not skip them).
    """
    import pytest

    @pytest.fixture(scope=scope)
    def _cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
        try:
            cluster = start_cluster(tmp_path_factory.mktemp("kube"))
        except ToolMissing as exc:
            pytest.fail(str(exc))
        try:
            yield cluster
        finally:
            cluster.stop()

    return _cluster
