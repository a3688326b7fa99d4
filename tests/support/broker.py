"""Find or start a RabbitMQ broker for the broker and fault tests (DESIGN §6).

Order of preference, as DESIGN §6 asks:

1. ``RABBITMQ_URL`` - an operator pointed us at a broker; use exactly that one.
2. A testcontainers ``RabbitMqContainer`` - only if a Docker engine answers right now.
3. A :class:`PrivateRabbit` - our own ``rabbitmq-server`` process on free ports.
4. Nothing - :func:`find_broker` returns ``None`` and says why.

A broker that other people use (e.g. a shared one on 5672) is never picked up by accident:
it is only used when ``RABBITMQ_URL`` names it. Fault tests never use a found broker at all;
they start a :class:`PrivateRabbit` they may kill.

Why a private broker is isolated the way it is:

* Own node name (``fengqiao-test-<hex>@localhost``) *and* its own ``epmd`` on a free port, so
  it can neither clash with nor be reached by a shared node (``rabbit@localhost``), and so we
  never leave behind a daemonised ``epmd`` when no shared one was running (e.g. on CI).
* Own ``HOME`` holding its own ``.erlang.cookie``: running as root must neither read nor
  create ``/root/.erlang.cookie`` and must never need the shared broker's cookie.
* Own ``RABBITMQ_CONF_ENV_FILE`` (empty): otherwise ``/etc/rabbitmq/rabbitmq-env.conf`` is
  sourced and may set ``NODENAME`` etc. for the shared node.
* Own config file, so ``/etc/rabbitmq/rabbitmq.conf`` (listeners of the shared broker) is
  not read.
* We run ``/usr/lib/rabbitmq/bin/rabbitmq-server`` directly: Debian's
  ``/usr/sbin/rabbitmq-server`` is a wrapper that, as root, ``su``\\ s to the ``rabbitmq``
  user and ``cd``\\ s to ``/var/lib/rabbitmq``.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import pika
import pika.exceptions

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
GUEST = ("guest", "guest")
# rabbitmqctl's own Erlang node listens in this range; keep our ports out of it.
_CTL_DIST_PORTS = range(35672, 35683)
_DEFAULT_SERVER_SCRIPTS = (
    "/usr/lib/rabbitmq/bin/rabbitmq-server",  # Debian/Ubuntu package
    "/usr/local/opt/rabbitmq/sbin/rabbitmq-server",  # Homebrew
)
_DEFAULT_CONTAINER_IMAGE = "rabbitmq:3.13-management"


@dataclass
class BrokerInfo:
    """Where a usable broker is and how to let go of it.

    ``management_url`` is the base URL of the management HTTP API with credentials in it
    (``http://guest:guest@127.0.0.1:15672``), or ``None`` when there is no such API.
    """

    amqp_url: str
    management_url: str | None
    source: str  # "env", "testcontainers" or "private"
    stopper: Callable[[], None] | None = field(default=None, repr=False)

    def stop(self) -> None:
        """Stop what we started (a container or a private broker); a no-op for ``env``."""
        stopper, self.stopper = self.stopper, None
        if stopper is not None:
            stopper()


# --------------------------------------------------------------------------- small helpers


def free_port() -> int:
    """A TCP port on loopback that is free right now (the kernel picks it)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((LOOPBACK, 0))
            port: int = sock.getsockname()[1]
        if port not in _CTL_DIST_PORTS:
            return port


def port_is_open(port: int, host: str = LOOPBACK, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def amqp_answers(url: str, timeout: float = 3.0) -> str | None:
    """Open and close one AMQP connection; return ``None`` if it worked, else the error.

    One attempt with short timeouts, so a dead or firewalled URL fails fast instead of
    hanging the test session.
    """
    params = pika.URLParameters(url)
    params.connection_attempts = 1
    params.retry_delay = 0
    params.socket_timeout = timeout
    params.stack_timeout = timeout
    params.blocked_connection_timeout = timeout
    try:
        pika.BlockingConnection(params).close()
    except Exception as exc:  # any failure means "does not answer"
        return repr(exc)
    return None


def redact(url: str) -> str:
    """``url`` with its password replaced, for messages that end up in test reports."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def management_answers(url: str, timeout: float = 2.0) -> bool:
    """True if ``GET <url>/api/overview`` returns 200 (credentials taken from ``url``)."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.hostname or LOOPBACK
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    plain = urllib.parse.urlunsplit((parts.scheme, netloc, "/api/overview", "", ""))
    request = urllib.request.Request(plain)  # noqa: S310 - the URL's scheme is checked to be http(s)
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        token = b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


# --------------------------------------------------------------------------- PrivateRabbit


class PrivateRabbit:
    """A ``rabbitmq-server`` of our own: own node, ports, epmd, cookie and data folder.

    The ports and data folder are fixed at construction, so :meth:`restart` (after
    :meth:`kill` or :meth:`stop`) brings back the *same* node on the *same* ports with the
    *same* data: durable queues and persistent messages survive, which is what fault tests
    check. :meth:`close` (also run by ``with`` and at interpreter exit) kills everything this
    object started and deletes the data folder.
    """

    def __init__(self, *, management: bool = True, server_script: str | None = None) -> None:
        script = server_script or find_server_script()
        if script is None:
            raise FileNotFoundError("no rabbitmq-server start script found")
        self.server_script: str = script
        self.node = f"fengqiao-test-{secrets.token_hex(4)}@localhost"
        self.base_dir = Path(tempfile.mkdtemp(prefix="fengqiao-rabbit-"))
        self.amqp_port = free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.management_port: int | None = None
        if management and management_plugin_available(self.server_script):
            self.management_port = free_port()
        self.last_start_seconds: float | None = None
        self._server: subprocess.Popen[bytes] | None = None
        self._epmd: subprocess.Popen[bytes] | None = None
        self._closed = False
        self._write_files()
        atexit.register(self.close)

    # -- public API ------------------------------------------------------------------------

    @property
    def amqp_url(self) -> str:
        user, password = GUEST
        return f"amqp://{user}:{password}@{LOOPBACK}:{self.amqp_port}/%2F"

    @property
    def management_url(self) -> str | None:
        if self.management_port is None:
            return None
        user, password = GUEST
        return f"http://{user}:{password}@{LOOPBACK}:{self.management_port}"

    @property
    def is_running(self) -> bool:
        return self._server is not None and self._server.poll() is None

    @property
    def pid(self) -> int | None:
        """Pid of the start script; it leads the process group that holds ``beam.smp``."""
        return self._server.pid if self._server is not None else None

    def info(self) -> BrokerInfo:
        return BrokerInfo(self.amqp_url, self.management_url, "private", stopper=self.close)

    def start(self, timeout: float = 60) -> PrivateRabbit:
        """Start the node and wait until pika can connect (and the management API answers)."""
        if self._closed:
            raise RuntimeError("this PrivateRabbit was closed")
        if self.is_running:
            return self
        for port in (self.amqp_port, self.dist_port, self.management_port):
            if port is not None and port_is_open(port):
                raise RuntimeError(f"port {port} of {self.node} is taken by someone else")
        began = time.monotonic()
        self._ensure_epmd()
        console = open(self.base_dir / "console.log", "ab")  # noqa: SIM115
        try:
            self._server = subprocess.Popen(
                [self.server_script],
                env=self._env(),
                cwd=self.base_dir,  # erl_crash.dump lands here, not in the repo
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: kill() hits only this
            )
        finally:
            console.close()
        self._wait_until_up(began + timeout)
        self.last_start_seconds = time.monotonic() - began
        log.info("%s up on %s in %.1fs", self.node, self.amqp_port, self.last_start_seconds)
        return self

    def kill(self) -> None:
        """SIGKILL the broker: its process group plus the helpers beam spawned.

        ``erl_child_setup``, ``inet_gethost`` and the disk monitor shell run in sessions of
        their own, so a process-group kill alone would leave them to die of EOF later; we
        collect all descendants of the start script and kill them by pid. The start script
        itself is left to reap ``beam.smp`` and exit (no zombie handed to init), and only
        then, if it lingers, is the whole group killed. Our epmd stays, so a restart can
        re-register the node.
        """
        server, self._server = self._server, None
        if server is None:
            return
        for pid in _descendants(server.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        self._wait_port_closed(self.amqp_port)

    def stop(self, timeout: float = 30) -> None:
        """Graceful shutdown: SIGTERM to our process group (RabbitMQ stops cleanly on TERM).

        Falls back to :meth:`kill` if the node is not gone within ``timeout`` seconds.
        """
        server = self._server
        if server is None:
            return
        if server.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s ignored SIGTERM for %ss; killing it", self.node, timeout)
        self.kill()  # reaps, and sweeps up helpers that outlived the TERM

    def restart(self, timeout: float = 60) -> PrivateRabbit:
        """Start again on the same node name, ports and data folder (stopping it first)."""
        self.stop()
        return self.start(timeout)

    def close(self) -> None:
        """Kill the broker and our epmd, and delete the data folder. Idempotent."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        self.kill()
        epmd, self._epmd = self._epmd, None
        if epmd is not None:
            epmd.kill()
            epmd.wait()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def ctl(self, *args: str, timeout: float = 60) -> str:
        """Run ``rabbitmqctl -n <our node> <args>`` with our cookie and epmd; return stdout."""
        ctl = Path(self.server_script).with_name("rabbitmqctl")
        done = subprocess.run(
            [str(ctl), "-n", self.node, *args],
            env=self._env(),
            cwd=self.base_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
        return done.stdout

    def console_tail(self, lines: int = 30) -> str:
        """The end of the server's stdout/stderr, for error messages."""
        path = self.base_dir / "console.log"
        if not path.exists():
            return ""
        text = path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def __enter__(self) -> PrivateRabbit:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"<PrivateRabbit {self.node} amqp={self.amqp_port} {state}>"

    # -- internals -------------------------------------------------------------------------

    def _write_files(self) -> None:
        home = self.base_dir / "home"
        home.mkdir()
        cookie = home / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(20))
        cookie.chmod(0o400)  # Erlang refuses a cookie file others can read
        (self.base_dir / "mnesia").mkdir()
        (self.base_dir / "log").mkdir()
        (self.base_dir / "rabbitmq-env.conf").write_text("")
        plugins = "[rabbitmq_management]." if self.management_port else "[]."
        (self.base_dir / "enabled_plugins").write_text(plugins + "\n")
        conf = [
            f"listeners.tcp.1 = {LOOPBACK}:{self.amqp_port}",
            "loopback_users.guest = true",
            "log.file.level = info",
            "log.console = false",
        ]
        if self.management_port:
            conf += [
                f"management.tcp.ip = {LOOPBACK}",
                f"management.tcp.port = {self.management_port}",
            ]
        (self.base_dir / "rabbitmq.conf").write_text("\n".join(conf) + "\n")

    def _env(self) -> dict[str, str]:
        """The process environment: the caller's, minus anything RabbitMQ/Erlang-specific."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("RABBITMQ_", "ERL_")) and key != "NOTIFY_SOCKET"
        }
        base = self.base_dir
        env.update(
            HOME=str(base / "home"),  # -> $HOME/.erlang.cookie is ours
            ERL_EPMD_ADDRESS=LOOPBACK,
            ERL_EPMD_PORT=str(self.epmd_port),
            ERL_CRASH_DUMP=str(base / "erl_crash.dump"),
            RABBITMQ_CONF_ENV_FILE=str(base / "rabbitmq-env.conf"),
            RABBITMQ_CONFIG_FILE=str(base / "rabbitmq.conf"),
            RABBITMQ_ADVANCED_CONFIG_FILE=str(base / "advanced.config"),  # absent on purpose
            RABBITMQ_ENABLED_PLUGINS_FILE=str(base / "enabled_plugins"),
            RABBITMQ_MNESIA_BASE=str(base / "mnesia"),
            RABBITMQ_LOG_BASE=str(base / "log"),
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_IP_ADDRESS=LOOPBACK,
            RABBITMQ_NODE_PORT=str(self.amqp_port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
        )
        return env

    def _ensure_epmd(self) -> None:
        if self._epmd is not None and self._epmd.poll() is None:
            return
        epmd = find_epmd()
        if epmd is None:
            raise FileNotFoundError("epmd not found (is Erlang installed?)")
        self._epmd = subprocess.Popen(
            [epmd, "-port", str(self.epmd_port), "-address", LOOPBACK],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not port_is_open(self.epmd_port):
            if self._epmd.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"private epmd on port {self.epmd_port} did not start")
            time.sleep(0.05)

    def _wait_until_up(self, deadline: float) -> None:
        amqp_ok = False
        while True:
            server = self._server
            if server is None or server.poll() is not None:
                self.kill()
                raise RuntimeError(f"{self.node} exited during start:\n{self.console_tail()}")
            if not amqp_ok and port_is_open(self.amqp_port):
                amqp_ok = amqp_answers(self.amqp_url) is None
            mgmt = self.management_url
            if amqp_ok and (mgmt is None or management_answers(mgmt)):
                return
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"{self.node} not up in time:\n{self.console_tail()}")
            time.sleep(0.2)

    @staticmethod
    def _wait_port_closed(port: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while port_is_open(port) and time.monotonic() < deadline:
            time.sleep(0.05)


def _descendants(pid: int) -> list[int]:
    """All live descendants of ``pid`` (Linux ``/proc``; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ..." - comm may contain spaces and parentheses
        fields = text[text.rindex(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def find_server_script() -> str | None:
    """The real ``rabbitmq-server`` start script (not Debian's su-to-rabbitmq wrapper)."""
    candidates = [os.environ.get("FENGQIAO_RABBITMQ_SERVER", ""), *_DEFAULT_SERVER_SCRIPTS]
    on_path = shutil.which("rabbitmq-server")
    if on_path:
        candidates.append(on_path)
    for candidate in candidates:
        if not candidate or not os.access(candidate, os.X_OK):
            continue
        try:
            text = Path(candidate).read_text(errors="replace")
        except OSError:
            continue
        if "su rabbitmq" not in text:
            return candidate
    return None


def find_epmd() -> str | None:
    """``epmd`` on PATH, else the one inside the newest Erlang runtime we can see."""
    bundled = sorted(glob.glob("/usr/lib/erlang/erts-*/bin/epmd"))
    return shutil.which("epmd") or (bundled[-1] if bundled else None)


def management_plugin_available(server_script: str) -> bool:
    home = Path(os.path.realpath(server_script)).parent.parent
    return bool(glob.glob(str(home / "plugins" / "rabbitmq_management-*")))


# --------------------------------------------------------------------------- find_broker


def docker_answers(timeout: float = 1.0) -> str | None:
    """Ping the Docker engine (``DOCKER_HOST`` or the default socket); ``None`` if it answers.

    A bare connect is not enough (a stale socket file accepts nothing; a proxy may accept
    anything), so we send ``GET /_ping`` with a short timeout; this never hangs.
    """
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    parts = urllib.parse.urlsplit(host)
    try:
        if parts.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(parts.path)
        elif parts.scheme in ("tcp", "http", "https"):
            sock = socket.create_connection((parts.hostname, parts.port or 2375), timeout)
            if parts.scheme == "https" or os.environ.get("DOCKER_TLS_VERIFY"):
                sock.close()
                return None  # TLS engine: reachable is the best cheap check we have
        else:
            return f"unsupported DOCKER_HOST {host!r}"
        with sock:
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            reply = sock.recv(256)
    except OSError as exc:
        return f"no Docker engine at {host}: {exc}"
    if b" 200 " not in reply.split(b"\r\n", 1)[0]:
        return f"Docker engine at {host} answered {reply[:60]!r}"
    return None


def _from_env(url: str) -> BrokerInfo | str:
    problem = amqp_answers(url)
    if problem is not None:
        return f"RABBITMQ_URL={redact(url)} does not answer: {problem}"
    return BrokerInfo(url, os.environ.get("RABBITMQ_MANAGEMENT_URL") or None, "env")


def _from_testcontainers() -> BrokerInfo | str:
    problem = docker_answers()
    if problem is not None:
        return problem
    try:
        from testcontainers.community.rabbitmq import RabbitMqContainer
    except ImportError as exc:
        return f"testcontainers unavailable: {exc}"
    image = os.environ.get("FENGQIAO_RABBITMQ_IMAGE", _DEFAULT_CONTAINER_IMAGE)
    container = RabbitMqContainer(image).with_exposed_ports(15672)
    try:
        container.start()
        host = container.get_container_host_ip()
        amqp = f"amqp://guest:guest@{host}:{container.get_exposed_port(container.port)}/%2F"
        mgmt = f"http://guest:guest@{host}:{container.get_exposed_port(15672)}"
    except Exception as exc:  # any failure: fall through to a private broker
        with contextlib.suppress(Exception):
            container.stop()
        return f"testcontainers {image} failed: {type(exc).__name__}: {exc}"
    return BrokerInfo(amqp, mgmt, "testcontainers", stopper=container.stop)


PRIVATE_START_TRIES = 3  # a free port picked for it may be taken before it binds: new ports


def _from_private(timeout: float) -> BrokerInfo | str:
    if find_server_script() is None:
        return "no rabbitmq-server installed (looked for the Debian/Homebrew scripts and PATH)"
    failed = ""
    for _ in range(PRIVATE_START_TRIES):
        try:
            rabbit = PrivateRabbit()
        except OSError as exc:
            return f"cannot prepare a private rabbitmq-server: {exc}"
        try:
            rabbit.start(timeout)
        except (OSError, RuntimeError) as exc:  # TimeoutError is an OSError
            rabbit.close()
            failed = f"private rabbitmq-server did not start: {exc}"
            continue
        return rabbit.info()
    return failed


def find_broker(reasons: list[str] | None = None, timeout: float = 60) -> BrokerInfo | None:
    """A broker to test against, in DESIGN §6's order, or ``None``.

    Why each source was passed over is appended to ``reasons`` (pass a list to get the
    reason for a ``None``). A ``RABBITMQ_URL`` that is set but does not answer is final:
    silently testing against some other broker than the one asked for would hide the problem.
    """
    reasons = [] if reasons is None else reasons
    url = os.environ.get("RABBITMQ_URL")
    if url:
        found = _from_env(url)
        if isinstance(found, str):
            reasons.append(found)
            return None
        return found
    reasons.append("RABBITMQ_URL is not set")
    for attempt in (_from_testcontainers, lambda: _from_private(timeout)):
        result = attempt()
        if isinstance(result, BrokerInfo):
            return result
        log.info("find_broker: %s", result)
        reasons.append(result)
    return None
