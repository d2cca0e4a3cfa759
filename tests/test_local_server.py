"""The launcher-managed Neo4j: localhost only, generated password, Browser served, CLI status."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import urllib.request

import pytest

from kg_store.errors import LocalServerError
from kg_store.local_server import AUTH_FILE, LocalNeo4j, ServerOptions


@pytest.fixture()
def server(local_server: LocalNeo4j | None) -> LocalNeo4j:
    if local_server is None:
        pytest.skip("tests run against NEO4J_URI or Docker, not the local launcher")
    return local_server


# 127.0.0.1 as /proc/net/tcp writes it, and the same address IPv4-mapped in /proc/net/tcp6
LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F"}


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of listening TCP sockets on ``port`` (from /proc/net/tcp{,6})."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for row in handle.readlines()[1:]:
                local, state = row.split()[1], row.split()[3]
                address, hex_port = local.rsplit(":", 1)
                if state == "0A" and int(hex_port, 16) == port:
                    found.add(address)
    return found


def test_listens_on_loopback_only(server: LocalNeo4j) -> None:
    for port in (server.options.bolt_port, server.options.http_port):
        addresses = _listening_addresses(port)
        assert addresses, f"nothing listens on port {port}"
        assert addresses <= LOOPBACK, addresses


def test_password_is_generated_and_private(server: LocalNeo4j) -> None:
    auth = server.home / AUTH_FILE
    assert stat.S_IMODE(os.stat(auth).st_mode) == 0o600
    password = json.loads(auth.read_text())["password"]
    assert len(password) >= 24
    conf = (server.home / "conf" / "neo4j.conf").read_text()
    assert password not in conf
    assert password not in (server.home / "logs" / "console.log").read_text()


def test_browser_is_served(server: LocalNeo4j) -> None:
    url = f"http://127.0.0.1:{server.options.http_port}/browser/"
    with urllib.request.urlopen(url, timeout=10) as response:
        body = response.read().decode("utf-8", "replace")
    assert response.status == 200
    assert "Neo4j Browser" in body


def test_cli_status_json(server: LocalNeo4j) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    result = subprocess.run([sys.executable, "-m", "kgrec.cli", "--neo4j-home", str(server.home),
                             "neo4j", "status", "--json"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["running"] is True
    assert status["bolt_uri"] == f"bolt://127.0.0.1:{server.options.bolt_port}"


def test_start_is_idempotent(server: LocalNeo4j) -> None:
    pid = server.status().pid
    assert server.start().pid == pid


def test_port_taken_is_a_clear_error(server: LocalNeo4j, tmp_path) -> None:
    other = LocalNeo4j(tmp_path / "other", ServerOptions(bolt_port=server.options.bolt_port, http_port=1))
    with pytest.raises(LocalServerError, match=f"Port {server.options.bolt_port} on 127.0.0.1 is taken"):
        other.start()


def test_settings_without_a_server_say_what_to_do(tmp_path) -> None:
    with pytest.raises(LocalServerError, match="run 'kgrec neo4j start'"):
        LocalNeo4j(tmp_path / "never-started").connection_settings()


def test_generated_password_never_starts_like_an_option(monkeypatch):
    """neo4j-admin read a password starting with '-' as an option, and the first start failed."""
    import kg_store.local_server as local_server

    draws = iter(["-leading-dash", "--two", "fine-password"])
    monkeypatch.setattr(local_server.secrets, "token_urlsafe", lambda _n: next(draws))
    assert local_server.new_password() == "fine-password"
