"""fetch_dataset and ``kgrec data fetch`` against a local HTTP server: good, corrupted, truncated
and HTML responses, zips, resumed downloads, unverified entries and no network. No Neo4j needed."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import urllib.error
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ingest.catalog import ArchiveMember, CatalogEntry, RemoteFile
from ingest.download import MANIFEST, SUMS_FILE, fetch_dataset, verify_folder
from kg_store.errors import BadInputError, ChecksumMismatchError, DownloadError

TRAIN = b"0 1 2 3\n1 2 3\n" * 500
TEST = b"0 4\n1 5\n" * 300


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Route:
    body: bytes
    content_type: str = "text/plain"
    ranges: bool = True  # honour Range requests
    cut_first: int | None = None  # first GET: promise the whole body, send only this many bytes
    gets: int = 0


@dataclass
class DataServer:
    base: str
    routes: dict[str, Route]
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)

    def add(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.base + path

    def ranges_for(self, path: str) -> list[str | None]:
        return [rng for p, rng in self.requests if p == path]


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        state: DataServer = self.server.state  # type: ignore[attr-defined]
        state.requests.append((self.path, self.headers.get("Range")))
        route = state.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        route.gets += 1
        start = self._range_start(route)
        if start is not None and start >= len(route.body):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(route.body)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        payload = route.body[start or 0:]
        self.send_response(206 if start is not None else 200)
        if start is not None:
            self.send_header("Content-Range", f"bytes {start}-{len(route.body) - 1}/{len(route.body)}")
        self.send_header("Content-Type", route.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if route.cut_first is not None and route.gets == 1:
            payload = payload[:route.cut_first]  # the connection closes early: a truncated body
        self.wfile.write(payload)

    def _range_start(self, route: Route) -> int | None:
        header = self.headers.get("Range")
        if not header or not route.ranges:
            return None
        return int(header.removeprefix("bytes=").split("-")[0])

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server() -> Iterator[DataServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    state = DataServer(f"http://127.0.0.1:{httpd.server_address[1]}", {})
    httpd.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def entry_of(name: str, *files: RemoteFile, archive_root: str = "") -> CatalogEntry:
    return CatalogEntry(name=name, layout="cikg", files=files, licence="test", citation="test",
                        homepage="http://127.0.0.1/", description="test", archive_root=archive_root)


def plain(server: DataServer, name: str, path: str, body: bytes, *, digest: str | None = "auto",
          size: int | None = None, **route) -> RemoteFile:
    url = server.add(f"/{name}/{path}", Route(body, **route))
    return RemoteFile(path, url, sha(body) if digest == "auto" else digest, size)


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def only(home: Path) -> list[str]:
    return sorted(p.name for p in home.iterdir()) if home.exists() else []


# -- good data ----------------------------------------------------------------------------------------
def test_fetch_installs_a_verified_folder_with_manifest(server: DataServer, tmp_path: Path) -> None:
    entry = entry_of("good", plain(server, "good", "train.txt", TRAIN, size=len(TRAIN)),
                     plain(server, "good", "test.txt", TEST))
    home = tmp_path / "home"
    folder = fetch_dataset(entry, home, progress=False, echo=lambda _: None)

    assert folder == home / "good"
    assert (folder / "train.txt").read_bytes() == TRAIN
    assert (folder / "test.txt").read_bytes() == TEST
    assert only(home) == ["good"]  # no staging folder left behind
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST, "test.txt", "train.txt"]
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["name"] == "good" and manifest["layout"] == "cikg"
    assert {f["path"]: f["sha256"] for f in manifest["files"]} == {"train.txt": sha(TRAIN), "test.txt": sha(TEST)}
    assert all(f["verified"] for f in manifest["files"])
    assert [s["url"] for s in manifest["sources"]] == [f.url for f in entry.files]


def test_refetch_of_a_present_dataset_downloads_nothing(server: DataServer, tmp_path: Path) -> None:
    entry = entry_of("again", plain(server, "again", "train.txt", TRAIN))
    fetch_dataset(entry, tmp_path, progress=False, echo=lambda _: None)
    seen = len(server.requests)
    messages: list[str] = []
    assert fetch_dataset(entry, tmp_path, progress=False, echo=messages.append) == tmp_path / "again"
    assert len(server.requests) == seen
    assert "already present" in messages[0]


def test_progress_lines_one_per_file(server: DataServer, tmp_path: Path) -> None:
    entry = entry_of("lines", plain(server, "lines", "train.txt", TRAIN), plain(server, "lines", "test.txt", TEST))
    messages: list[str] = []
    fetch_dataset(entry, tmp_path, progress=False, echo=messages.append)
    assert sum("train.txt" in m for m in messages) == 1 and sum("test.txt" in m for m in messages) == 1


def test_progress_bars_when_forced(server: DataServer, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    entry = entry_of("bars", plain(server, "bars", "train.txt", TRAIN))
    fetch_dataset(entry, tmp_path, progress=True, echo=lambda _: None)
    assert "bars/train.txt" in capsys.readouterr().err


def test_second_fetch_of_the_same_dataset_stops_at_once(server: DataServer, tmp_path: Path) -> None:
    import fcntl

    entry = entry_of("busy", plain(server, "busy", "train.txt", TRAIN))
    staging = tmp_path / ".staging-busy"
    staging.mkdir()
    with (staging / ".lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(DownloadError, match="Another"):
            fetch_dataset(entry, tmp_path, progress=False, echo=lambda _: None)
    assert server.requests == [] and not (tmp_path / "busy").exists()


# -- bad data -----------------------------------------------------------------------------------------
def test_checksum_mismatch_deletes_the_file_and_installs_nothing(server: DataServer, tmp_path: Path) -> None:
    good = plain(server, "bad", "train.txt", TRAIN)
    corrupted = plain(server, "bad", "test.txt", TEST[:-1] + b"X", digest=sha(TEST))
    entry = entry_of("bad", good, corrupted)

    with pytest.raises(ChecksumMismatchError) as caught:
        fetch_dataset(entry, tmp_path, progress=False, echo=lambda _: None)

    message = str(caught.value)
    assert "test.txt" in message and sha(TEST) in message and sha(TEST[:-1] + b"X") in message
    assert only(tmp_path) == [".staging-bad"]
    staging = tmp_path / ".staging-bad"
    assert not (staging / "test.txt.part").exists() and not (staging / "test.txt").exists()
    assert (staging / "train.txt").read_bytes() == TRAIN  # verified files stay for the next run


def test_size_mismatch_is_refused(server: DataServer, tmp_path: Path) -> None:
    entry = entry_of("big", plain(server, "big", "train.txt", TRAIN, size=len(TRAIN) - 10))
    with pytest.raises(DownloadError, match="expected"):
        fetch_dataset(entry, tmp_path, progress=False, echo=lambda _: None)
    assert not (tmp_path / "big").exists()


def test_truncated_body_is_an_error_and_keeps_the_part_for_resuming(server: DataServer, tmp_path: Path) -> None:
    entry = entry_of("cut", plain(server, "cut", "train.txt", TRAIN, cut_first=1000, ranges=False))
    with pytest.raises(DownloadError, match="resume") as caught:
        fetch_dataset(entry, tmp_path, progress=False, echo=lambda _: None)
    assert "1000 of" in str(caught.value)
    assert only(tmp_path) == [".staging-cut"]
    assert (tmp_path / ".staging-cut" / "train.txt.part").stat().st_size == 1000


def test_html_page_is_refused_with_the_url(server: DataServer, tmp_path: Path) -> None:
    page = b"<!DOCTYPE html>\n<html><body>Rate limit exceeded</body></html>\n"
    remote = plain(server, "html", "train.txt", page, digest=sha(TRAIN))
    with pytest.raises(DownloadError) as caught:
        fetch_dataset(entry_of("html", remote), tmp_path, progress=False, echo=lambda _: None)
    assert remote.url in str(caught.value) and "HTML" in str(caught.value)
    assert not (tmp_path / "html").exists()
    assert not (tmp_path / ".staging-html" / "train.txt.part").exists()


def test_html_content_type_is_refused(server: DataServer, tmp_path: Path) -> None:
    remote = plain(server, "ctype", "train.txt", b"not found", content_type="text/html; charset=utf-8")
    with pytest.raises(DownloadError, match="HTML"):
        fetch_dataset(entry_of("ctype", remote), tmp_path, progress=False, echo=lambda _: None)
    assert not (tmp_path / "ctype").exists()


def test_http_error_names_the_url(server: DataServer, tmp_path: Path) -> None:
    missing = RemoteFile("train.txt", server.base + "/nowhere/train.txt", sha(TRAIN))
    with pytest.raises(DownloadError, match="HTTP 404") as caught:
        fetch_dataset(entry_of("gone", missing), tmp_path, progress=False, echo=lambda _: None)
    assert missing.url in str(caught.value)


# -- zips ---------------------------------------------------------------------------------------------
def test_zip_is_verified_then_only_wanted_members_are_extracted(server: DataServer, tmp_path: Path) -> None:
    archive = make_zip({"ml-x/u.data": TRAIN, "ml-x/u.item": TEST, "ml-x/extra.txt": b"unwanted"})
    url = server.add("/ml-x.zip", Route(archive, content_type="application/zip"))
    remote = RemoteFile("ml-x.zip", url, sha(archive), len(archive), unzip=True,
                        members=(ArchiveMember("u.data", sha(TRAIN), len(TRAIN)), ArchiveMember("u.item")))
    folder = fetch_dataset(entry_of("ml-x", remote, archive_root="ml-x"), tmp_path, progress=False,
                           echo=lambda _: None)
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST, "u.data", "u.item"]
    assert (folder / "u.data").read_bytes() == TRAIN
    recorded = {f["path"]: f for f in json.loads((folder / MANIFEST).read_text())["files"]}
    assert recorded["u.item"]["sha256"] == sha(TEST) and recorded["u.item"]["verified"]  # via the zip


def test_zip_member_with_dotdot_is_refused(server: DataServer, tmp_path: Path) -> None:
    archive = make_zip({"kg_final.txt": TRAIN, "../evil.txt": b"x"})
    url = server.add("/evil.zip", Route(archive))
    remote = RemoteFile("kg_final.txt.zip", url, sha(archive), unzip=True, members=(ArchiveMember("kg_final.txt"),))
    with pytest.raises(DownloadError, match="unsafe member"):
        fetch_dataset(entry_of("evil", remote), tmp_path, progress=False, echo=lambda _: None)
    assert not (tmp_path / "evil").exists() and not (tmp_path / "evil.txt").exists()


def test_zip_member_checksum_mismatch(server: DataServer, tmp_path: Path) -> None:
    archive = make_zip({"kg_final.txt": TRAIN})
    url = server.add("/kg.zip", Route(archive))
    remote = RemoteFile("kg_final.txt.zip", url, sha(archive), unzip=True,
                        members=(ArchiveMember("kg_final.txt", sha(TEST)),))
    with pytest.raises(ChecksumMismatchError, match="kg_final.txt"):
        fetch_dataset(entry_of("kgzip", remote), tmp_path, progress=False, echo=lambda _: None)
    assert only(tmp_path) == [".staging-kgzip"]


# -- resuming -------------------------------------------------------------------------------------------
def test_interrupted_download_resumes_with_a_range_request(server: DataServer, tmp_path: Path) -> None:
    remote = plain(server, "resume", "train.txt", TRAIN, cut_first=2048)
    entry = entry_of("resume", remote)
    with pytest.raises(DownloadError, match="resume"):
        fetch_dataset(entry, tmp_path, progress=False, echo=lambda _: None)
    assert only(tmp_path) == [".staging-resume"]

    folder = fetch_dataset(entry, tmp_path, progress=False, echo=lambda _: None)

    assert server.ranges_for("/resume/train.txt") == [None, "bytes=2048-"]
    assert (folder / "train.txt").read_bytes() == TRAIN
    assert only(tmp_path) == ["resume"]


def test_server_ignoring_range_means_starting_over(server: DataServer, tmp_path: Path) -> None:
    remote = plain(server, "norange", "train.txt", TRAIN, cut_first=2048, ranges=False)
    entry = entry_of("norange", remote)
    with pytest.raises(DownloadError):
        fetch_dataset(entry, tmp_path, progress=False, echo=lambda _: None)
    folder = fetch_dataset(entry, tmp_path, progress=False, echo=lambda _: None)
    assert server.ranges_for("/norange/train.txt") == [None, "bytes=2048-"]  # asked, got a 200
    assert (folder / "train.txt").read_bytes() == TRAIN


def test_complete_part_with_unknown_size_gets_416_and_is_kept(server: DataServer, tmp_path: Path) -> None:
    remote = plain(server, "done", "train.txt", TRAIN)
    staging = tmp_path / ".staging-done"
    staging.mkdir()
    (staging / "train.txt.part").write_bytes(TRAIN)
    folder = fetch_dataset(entry_of("done", remote), tmp_path, progress=False, echo=lambda _: None)
    assert (folder / "train.txt").read_bytes() == TRAIN


# -- unverified entries ------------------------------------------------------------------------------------
def test_unknown_checksums_need_trust_and_are_recorded(server: DataServer, tmp_path: Path) -> None:
    entry = entry_of("trust", plain(server, "trust", "train.txt", TRAIN, digest=None),
                     plain(server, "trust", "test.txt", TEST))
    with pytest.raises(DownloadError, match="--trust-unverified"):
        fetch_dataset(entry, tmp_path, progress=False, echo=lambda _: None)
    assert server.requests == [] and only(tmp_path) == []

    messages: list[str] = []
    folder = fetch_dataset(entry, tmp_path, progress=False, trust_unverified=True, echo=messages.append)

    assert any(sha(TRAIN) in m for m in messages)
    sums = (folder / SUMS_FILE).read_text().splitlines()
    assert f"{sha(TRAIN)}  train.txt" in sums and f"{sha(TEST)}  test.txt" in sums
    verify_folder(entry, folder)  # the manifest's hash now guards train.txt
    (folder / "train.txt").write_bytes(TRAIN + b"tampered")
    with pytest.raises(ChecksumMismatchError, match="train.txt"):
        verify_folder(entry, folder)


# -- no network -------------------------------------------------------------------------------------------
def test_no_network_says_what_to_place_where(tmp_path: Path) -> None:
    def offline(request, timeout):
        raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))

    remote = RemoteFile("train.txt", "https://raw.githubusercontent.com/o/r/abcdef1/train.txt", sha(TRAIN))
    kg = RemoteFile("kg_final.txt.zip", "https://raw.githubusercontent.com/o/r/abcdef1/kg_final.txt.zip",
                    sha(TEST), unzip=True, members=(ArchiveMember("kg_final.txt"),))
    with pytest.raises(DownloadError) as caught:
        fetch_dataset(entry_of("offline", remote, kg), tmp_path / "home", progress=False, opener=offline,
                      echo=lambda _: None)
    message = str(caught.value)
    assert message.startswith("Could not reach raw.githubusercontent.com")
    assert "download train.txt, kg_final.txt.zip from https://raw.githubusercontent.com/o/r/abcdef1/ " in message
    assert f"place train.txt, kg_final.txt in {tmp_path / 'home' / 'offline'}/" in message
    assert "kg_final.txt unzipped from kg_final.txt.zip" in message
    assert only(tmp_path / "home") == []  # nothing to resume, so no staging folder either


# -- verify_folder --------------------------------------------------------------------------------------
def test_verify_folder_names_the_bad_and_the_missing_file(tmp_path: Path) -> None:
    entry = entry_of("v", RemoteFile("train.txt", "https://x.test/train.txt", sha(TRAIN)),
                     RemoteFile("test.txt", "https://x.test/test.txt", sha(TEST)))
    (tmp_path / "train.txt").write_bytes(TRAIN)
    with pytest.raises(BadInputError, match="test.txt.*missing"):
        verify_folder(entry, tmp_path)
    (tmp_path / "test.txt").write_bytes(TRAIN)
    with pytest.raises(ChecksumMismatchError) as caught:
        verify_folder(entry, tmp_path)
    assert "test.txt" in str(caught.value) and sha(TEST) in str(caught.value)


# -- the command ------------------------------------------------------------------------------------------
def _cli() -> click.Group:
    """kgrec's own main group, with its one-line errors and exit codes."""
    from kgrec.cli import main

    return main


def test_cli_fetch_with_data_home(server: DataServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kgrec.data_api

    entry = entry_of("clidata", plain(server, "clidata", "train.txt", TRAIN))
    monkeypatch.setattr(kgrec.data_api, "get_entry", lambda name: entry)
    result = CliRunner().invoke(_cli(), ["data", "fetch", "clidata", "--data-home", str(tmp_path), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(str(tmp_path / "clidata"))
    assert (tmp_path / "clidata" / "train.txt").read_bytes() == TRAIN


def test_cli_fetch_refuses_unverified_and_unknown(tmp_path: Path) -> None:
    result = CliRunner().invoke(_cli(), ["data", "fetch", "amazon-book", "--data-home", str(tmp_path)])
    assert result.exit_code == 3 and "--trust-unverified" in result.output
    assert only(tmp_path) == []
    result = CliRunner().invoke(_cli(), ["data", "fetch", "no-such-set", "--data-home", str(tmp_path)])
    assert result.exit_code == 2 and "dbbook2014" in result.output and "ml-1m" in result.output
