"""A real Neo4j 5.26 LTS Community server without Docker.

The server jars come from Maven Central (``neo4j_local/pom.xml``) into a cache outside the
repository; the server runs as a detached JVM whose home directory (data, logs, conf, generated
password) the user chooses. It listens on 127.0.0.1 only. Neo4j Browser is on the classpath, so
the HTTP connector serves it at ``/browser/``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from kg_store.connection import probe_login
from kg_store.errors import LocalServerError
from kg_store.paths import AUTH_FILE, PID_FILE, STATE_FILE, kgrec_cache_home, local_password, saved_server_state
from kg_store.progress import note
from kg_store.settings import DEFAULT_USER, Neo4jSettings, local_settings

NEO4J_VERSION = "5.26.30"
SERVER_MAIN_CLASS = "org.neo4j.server.CommunityEntryPoint"
ADMIN_MAIN_CLASS = "org.neo4j.cli.AdminTool"

# Flags Neo4j's own launcher script passes to the JVM that matter on Java 17.
JVM_FLAGS = [
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dfile.encoding=UTF-8",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
]


@dataclass(frozen=True)
class ServerOptions:
    """Ports and memory of the local server; defaults fit a 2-core, 24 GB machine."""

    bolt_port: int = 7687
    http_port: int = 7474
    heap: str = "1g"
    page_cache: str = "1g"
    transaction_memory_max: str = "0"  # 0 = limited only by the heap


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    home: Path
    bolt_uri: str
    browser_url: str

    def as_dict(self) -> dict:
        data = asdict(self)
        data["home"] = str(self.home)
        return data


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of this process is not alive
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return True


def free_port() -> int:
    """An unused TCP port on 127.0.0.1 (for tests and side-by-side servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Neo4jJars:
    """The server's jars, resolved once by Maven into a shared cache directory."""

    def __init__(self, cache_dir: Path | None = None):
        self.root = (cache_dir or kgrec_cache_home()) / f"neo4j-{NEO4J_VERSION}"
        self.lib = self.root / "lib"

    @property
    def ready(self) -> bool:
        return (self.root / ".complete").exists()

    def classpath(self) -> str:
        return str(self.lib / "*")

    def ensure(self) -> None:
        """Fetch the jars with Maven unless a complete copy is cached."""
        if self.ready:
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise LocalServerError("Maven ('mvn') is needed once to fetch the Neo4j jars; install it.")
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / "lib.partial"
        shutil.rmtree(staging, ignore_errors=True)
        with resources.as_file(resources.files("kg_store") / "neo4j_local" / "pom.xml") as pom:
            command = [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
                       f"-DoutputDirectory={staging}", "-DincludeScope=runtime"]
            note(f"Fetching Neo4j {NEO4J_VERSION} jars from Maven Central into {self.root} ...")
            result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
            raise LocalServerError("Maven could not fetch the Neo4j jars: " + " | ".join(tail))
        shutil.rmtree(self.lib, ignore_errors=True)
        staging.rename(self.lib)
        (self.root / ".complete").write_text(NEO4J_VERSION + "\n")


def new_password() -> str:
    """A random password for the local server that neo4j-admin cannot mistake for an option.

    ``secrets.token_urlsafe`` may start with "-" (about 1 draw in 32), which neo4j-admin's parser reads
    as an unknown option, and the very first start fails.
    """
    while (password := secrets.token_urlsafe(24)).startswith("-"):
        pass
    return password


class LocalNeo4j:
    """Start, stop and inspect one Neo4j server whose files live under ``home``."""

    def __init__(self, home: Path, options: ServerOptions | None = None, jars: Neo4jJars | None = None):
        self.home = Path(home).expanduser().resolve()
        self._options = options
        self.jars = jars or Neo4jJars()

    # -- state on disk -------------------------------------------------------------------------
    @property
    def options(self) -> ServerOptions:
        """Explicit options, else those saved at the last start, else defaults."""
        if self._options is not None:
            return self._options
        state = saved_server_state(self.home)
        return ServerOptions(**state) if state is not None else ServerOptions()

    def _pid(self) -> int | None:
        pid_file = self.home / PID_FILE
        if not pid_file.exists():
            return None
        try:
            pid = int(pid_file.read_text().strip())
        except ValueError:
            return None
        return pid if _pid_alive(pid) else None

    def password(self) -> str:
        return local_password(self.home)

    def connection_settings(self) -> Neo4jSettings:
        return local_settings(self.home, self.options.bolt_port)

    def status(self) -> ServerStatus:
        pid = self._pid()
        opts = self.options
        return ServerStatus(
            running=pid is not None and _port_open(opts.bolt_port),
            pid=pid,
            home=self.home,
            bolt_uri=f"bolt://127.0.0.1:{opts.bolt_port}",
            browser_url=f"http://127.0.0.1:{opts.http_port}/browser/",
        )

    # -- set-up ----------------------------------------------------------------------------------
    def _write_config(self) -> None:
        opts = self.options
        conf_dir = self.home / "conf"
        conf_dir.mkdir(parents=True, exist_ok=True)
        lines = [
            "# Written by kgrec on every start; edit ServerOptions instead.",
            "server.default_listen_address=127.0.0.1",
            "server.default_advertised_address=127.0.0.1",
            f"server.bolt.listen_address=127.0.0.1:{opts.bolt_port}",
            f"server.bolt.advertised_address=127.0.0.1:{opts.bolt_port}",
            f"server.http.listen_address=127.0.0.1:{opts.http_port}",
            f"server.http.advertised_address=127.0.0.1:{opts.http_port}",
            "server.https.enabled=false",
            "dbms.usage_report.enabled=false",
            f"server.memory.heap.initial_size={opts.heap}",
            f"server.memory.heap.max_size={opts.heap}",
            f"server.memory.pagecache.size={opts.page_cache}",
            f"dbms.memory.transaction.total.max={opts.transaction_memory_max}",
            f"server.directories.data={self.home / 'data'}",
            f"server.directories.logs={self.home / 'logs'}",
            f"server.directories.import={self.home / 'import'}",
            f"server.directories.run={self.home / 'run'}",
            "dbms.security.auth_enabled=true",
        ]
        (conf_dir / "neo4j.conf").write_text("\n".join(lines) + "\n")
        (self.home / STATE_FILE).write_text(json.dumps(asdict(opts)))

    def _java(self, main_class: str, *args: str) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise LocalServerError("Java 17 or newer is needed to run Neo4j 5.26; install a JDK.")
        return [java, *JVM_FLAGS, "-cp", self.jars.classpath(), main_class, *args]

    def _admin_env(self) -> dict[str, str]:
        return {**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(self.home / "conf")}

    def _ensure_password(self) -> None:
        """Generate and set a password before the very first start; never hard-coded."""
        auth = self.home / AUTH_FILE
        if auth.exists():
            return
        password = new_password()
        result = subprocess.run(
            self._java(ADMIN_MAIN_CLASS, "dbms", "set-initial-password", password),
            env=self._admin_env(), capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise LocalServerError(f"Could not set the initial password: {result.stderr.strip()[-300:]}")
        fd = os.open(auth, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"user": DEFAULT_USER, "password": password}, handle)

    def admin(self, *args: str) -> subprocess.CompletedProcess:
        """Run ``neo4j-admin ARGS`` on this home (offline commands such as ``database import full``
        need the server stopped); returns the finished process with its output."""
        self.jars.ensure()
        self.home.mkdir(parents=True, exist_ok=True)
        self._write_config()
        return subprocess.run(self._java(ADMIN_MAIN_CLASS, *args), env=self._admin_env(),
                              capture_output=True, text=True)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, timeout: float = 180.0, wait_for_http: bool = True) -> ServerStatus:
        """Start the server (idempotent) and wait until Bolt accepts a login (and, with
        ``wait_for_http``, Browser's HTTP connector listens: it opens a few seconds after Bolt)."""
        current = self.status()
        if current.running:
            return current
        opts = self.options
        for port in (opts.bolt_port, opts.http_port):
            if _port_open(port):
                raise LocalServerError(
                    f"Port {port} on 127.0.0.1 is taken by another program; choose other ports "
                    "(--bolt-port/--http-port) or stop that program."
                )
        self.jars.ensure()
        self.home.mkdir(parents=True, exist_ok=True)
        self._write_config()
        self._ensure_password()
        (self.home / "logs").mkdir(exist_ok=True)
        console = open(self.home / "logs" / "console.log", "ab")
        heap = ["-Xms" + opts.heap, "-Xmx" + opts.heap]
        command = self._java(SERVER_MAIN_CLASS, f"--home-dir={self.home}", f"--config-dir={self.home / 'conf'}")
        command[1:1] = heap
        process = subprocess.Popen(
            command, stdout=console, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=self.home, start_new_session=True,
        )
        console.close()
        (self.home / PID_FILE).write_text(str(process.pid))
        self._wait_until_ready(process, timeout, wait_for_http)
        return self.status()

    def _wait_until_ready(self, process: subprocess.Popen, timeout: float, wait_for_http: bool = True) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise LocalServerError(
                    f"Neo4j exited during start-up (code {process.returncode}); "
                    f"see {self.home / 'logs' / 'console.log'}."
                )
            # ready means Bolt accepts a login and Browser's HTTP connector listens (it can open later)
            if (_port_open(self.options.bolt_port) and (not wait_for_http or _port_open(self.options.http_port))
                    and probe_login(self.connection_settings())):
                return
            time.sleep(0.5)
        raise LocalServerError(f"Neo4j did not become ready within {timeout:.0f} s; see {self.home / 'logs'}.")

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop the server gracefully (SIGTERM, then SIGKILL after ``timeout``). True if it ran."""
        pid = self._pid()
        if pid is None:
            (self.home / PID_FILE).unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _pid_alive(pid):
            time.sleep(0.2)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        self._wait_for_ports_released()
        (self.home / PID_FILE).unlink(missing_ok=True)
        return True

    def _wait_for_ports_released(self, timeout: float = 30.0) -> None:
        """A killed JVM's leader turns zombie before its other threads close the sockets."""
        deadline = time.monotonic() + timeout
        opts = self.options
        while time.monotonic() < deadline and (_port_open(opts.bolt_port) or _port_open(opts.http_port)):
            time.sleep(0.1)

    def kill(self) -> None:
        """Kill the server without shutdown (tests of crash recovery use this)."""
        pid = self._pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            while _pid_alive(pid):
                time.sleep(0.1)
            self._wait_for_ports_released()
