"""kgrec's own Neo4j server through the :mod:`kgrec` facade: start, stop, status, password.

What ``kgrec neo4j`` does, as calls. The server runs from the Community jars kgrec fetches once
from Maven Central, with its files under a home folder (``home``; default ``KGREC_NEO4J_HOME`` or
``~/.local/share/kgrec/neo4j``), so no Docker is needed. :func:`kgrec.start_local_neo4j` is the
variant that starts nothing when ``NEO4J_URI`` names another server.
"""

from __future__ import annotations

from pathlib import Path

from kg_store.local_server import LocalNeo4j, ServerOptions
from kg_store.settings import default_local_home, settings_from_env
from kgrec.admin_results import LocalNeo4jStatus


def neo4j_home() -> Path:
    """The local server's home when none is given: ``KGREC_NEO4J_HOME``, else ``~/.local/share/kgrec/neo4j``.

    ```python
    import kgrec

    print(kgrec.neo4j_home())
    ```
    """
    return default_local_home()


def neo4j_uri_set() -> bool:
    """Whether ``NEO4J_URI`` sends kgrec to a server other than its own (then the local one is unused).

    ```python
    import kgrec

    if kgrec.neo4j_uri_set():
        print("using the server NEO4J_URI names")
    ```
    """
    return settings_from_env() is not None


def start_neo4j(home: Path | None = None, *, bolt_port: int | None = None, http_port: int | None = None,
                heap: str | None = None, page_cache: str | None = None) -> LocalNeo4jStatus:
    """Start the local server in ``home`` (or find it running) and wait until it answers, whatever
    ``NEO4J_URI`` says.

    The first start fetches the jars and generates a password. A setting not given keeps the value
    of the last start (else the default: bolt 7687, HTTP 7474, 1g heap and page cache).

    ```python
    import kgrec

    status = kgrec.start_neo4j(bolt_port=7688, heap="2g")
    print(status.bolt_uri, status.browser_url, status.pid)
    ```
    """
    home = home or default_local_home()
    saved = LocalNeo4j(home).options
    options = ServerOptions(bolt_port=bolt_port or saved.bolt_port, http_port=http_port or saved.http_port,
                            heap=heap or saved.heap, page_cache=page_cache or saved.page_cache)
    return LocalNeo4jStatus.of(LocalNeo4j(home, options).start())


def stop_neo4j(home: Path | None = None) -> bool:
    """Stop the local server; False when it was not running.

    ```python
    import kgrec

    print("stopped" if kgrec.stop_neo4j() else "was not running")
    ```
    """
    return LocalNeo4j(home or default_local_home()).stop()


def neo4j_status(home: Path | None = None) -> LocalNeo4jStatus:
    """Whether the local server runs (its process is alive and its bolt port answers), and where.

    ```python
    import kgrec

    status = kgrec.neo4j_status()
    print(status.running, status.bolt_uri, status.home)
    ```
    """
    return LocalNeo4jStatus.of(LocalNeo4j(home or default_local_home()).status())


def neo4j_password(home: Path | None = None) -> str:
    """The password generated for the local server's ``neo4j`` user (for Neo4j Browser).

    ```python
    import kgrec

    print(kgrec.neo4j_password())
    ```
    """
    return LocalNeo4j(home or default_local_home()).password()
