"""Fetch a catalog dataset into a folder that is either complete and verified, or absent.

Every file is downloaded into ``<data home>/.staging-<name>/`` as ``<file>.part``; a second run
continues a ``.part`` with an HTTP Range request (and starts over when the server ignores it).
Each file is checked against the catalog's size and sha256 before it loses its ``.part``; zips are
checked, then only the wanted members are extracted. When all is verified, a manifest
(``kgrec-dataset.json``) is written and the staging folder is renamed to ``<data home>/<name>``
with one ``os.replace``, so a reader never sees half a dataset.

Plain ``urllib.request`` rather than pooch: pooch cannot resume an interrupted download, and the
big KGAT and MovieLens files are exactly the ones that get interrupted.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

from tqdm import tqdm

from ingest.catalog import CatalogEntry, RemoteFile
from kg_store.errors import BadInputError, ChecksumMismatchError, DownloadError

try:  # POSIX: keep two fetches of one dataset from writing the same staging folder
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

MANIFEST = "kgrec-dataset.json"
SUMS_FILE = "SHA256SUMS"
TIMEOUT_S = 60.0
CHUNK = 1 << 20
USER_AGENT = "kgrec-data-fetch/0.1 (+urllib)"

Opener = Callable[..., Any]  # urllib.request.urlopen(request, timeout=...)
Echo = Callable[[str], None]


def _stderr(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class _Fetch:
    """What one ``fetch_dataset`` call needs everywhere: the entry, where, how to talk and report."""

    entry: CatalogEntry
    staging: Path
    target: Path
    opener: Opener
    timeout: float
    bars: bool
    echo: Echo
    hashes: dict[str, str] = field(default_factory=dict)  # final path or archive path -> sha256

    def manual_hint(self) -> str:
        """Where to put the files when kgrec cannot download them itself."""
        files = self.entry.files
        folders = {f.url.rsplit("/", 1)[0] for f in files}
        if len(files) > 1 and len(folders) == 1 and all(f.url.endswith("/" + f.path) for f in files):
            what = f"{', '.join(f.path for f in files)} from {folders.pop()}/"
        else:
            what = ", ".join(f.url for f in files)
        placed = ", ".join(path for path, _ in self.entry.final_files())
        notes = [self._unzip_note(f) for f in files if f.unzip]
        note = f" ({'; '.join(notes)})" if notes else ""
        return f"download {what} yourself and place {placed} in {self.target}/{note}"

    def _unzip_note(self, archive: RemoteFile) -> str:
        if self.entry.archive_root:
            return f"the files of {self.entry.archive_root}/ in {archive.path}"
        return f"{', '.join(m.path for m in archive.members)} unzipped from {archive.path}"


# -- public API ------------------------------------------------------------------------------------
def fetch_dataset(entry: CatalogEntry, data_home: Path | str, *, progress: bool | None = None,
                  trust_unverified: bool = False, opener: Opener = urllib.request.urlopen,
                  timeout: float = TIMEOUT_S, echo: Echo = _stderr) -> Path:
    """Download, verify and install ``entry`` as ``<data_home>/<name>``; return that folder.

    A present folder is verified and left alone. An entry with files of unknown sha256 is refused
    unless ``trust_unverified``; then the computed hashes are printed and written to
    ``SHA256SUMS``. ``progress``: True draws bars, False prints one line per file, None draws bars
    only when stderr is a terminal.
    """
    data_home = Path(data_home)
    target = data_home / entry.name
    if target.exists():
        verify_folder(entry, target)
        echo(f"{entry.name}: already present and verified in {target}")
        return target
    _refuse_unverified(entry, trust_unverified)
    staging = data_home / f".staging-{entry.name}"
    staging.mkdir(parents=True, exist_ok=True)
    bars = progress if progress is not None else sys.stderr.isatty()
    fetch = _Fetch(entry, staging, target, opener, timeout, bars, echo)
    try:
        with _staging_lock(staging, entry.name) as release:
            for remote in entry.files:
                _fetch_file(fetch, remote)
            _finish(fetch)
            release()
            _install(staging, target)
    except BaseException:
        if staging.is_dir() and not any(staging.iterdir()):
            staging.rmdir()  # nothing worth resuming: leave the data home as it was
        raise
    echo(f"{entry.name}: ready in {target}")
    return target


def _install(staging: Path, target: Path) -> None:
    """Rename the finished staging folder into place; if another fetch got there first, keep its."""
    try:
        os.replace(staging, target)
    except OSError:
        if not target.is_dir():
            raise
        shutil.rmtree(staging, ignore_errors=True)


def verify_folder(entry: CatalogEntry, folder: Path | str) -> Path:
    """Check that ``folder`` holds every file of ``entry`` with the expected sha256.

    The catalog's hash is used when it has one, else the one the folder's own manifest recorded
    at fetch time; a file with neither is only checked for presence.
    """
    folder = Path(folder)
    recorded = _recorded_hashes(folder)
    for path, known in entry.final_files():
        file = folder / path
        if not file.is_file():
            raise BadInputError(file, None, f"missing: {folder} does not hold the complete {entry.name} "
                                f"dataset; remove the folder and run 'kgrec data fetch {entry.name}', "
                                "put the file there, or load the folder as it is with --no-verify")
        expected = known or recorded.get(path)
        if expected is not None:
            actual = sha256_of(file)
            if actual != expected:
                raise ChecksumMismatchError(file, expected, actual, hint=(
                    f"this is not the {entry.name} file the catalog describes; remove {folder} and "
                    f"run 'kgrec data fetch {entry.name}', or load it as it is with --no-verify"))
    return folder


# -- one file ----------------------------------------------------------------------------------------
def _fetch_file(fetch: _Fetch, remote: RemoteFile) -> None:
    """Bring one catalog file into the staging folder, verified; a zip is then extracted (it stays
    in staging, so a later run can re-extract without downloading, until the dataset is installed)."""
    path = _download_verified(fetch, remote)
    if remote.unzip:
        _extract(fetch, remote, path)


def _download_verified(fetch: _Fetch, remote: RemoteFile) -> Path:
    """The file in staging, downloaded or resumed, with its size and sha256 checked."""
    final = fetch.staging / remote.path
    if final.exists():  # finished by an earlier run
        digest = sha256_of(final)
        if remote.sha256 in (None, digest):
            fetch.hashes[remote.path] = digest
            return final
        final.unlink()
    part = final.with_name(final.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    _download(fetch, remote, part)
    digest = _check_part(fetch, remote, part)
    os.replace(part, final)
    fetch.hashes[remote.path] = digest
    if not fetch.bars:
        state = "sha256 verified" if remote.verified else f"sha256 {digest} (not in the catalog)"
        fetch.echo(f"{fetch.entry.name}: {remote.path} {_size(final.stat().st_size)} "
                   f"in {time.perf_counter() - started:.1f} s, {state}")
    return final


def _check_part(fetch: _Fetch, remote: RemoteFile, part: Path) -> str:
    """Size and sha256 of a finished ``.part``; a bad one is deleted so the next run starts over."""
    size = part.stat().st_size
    if remote.size is not None and size > remote.size:
        part.unlink()
        raise DownloadError(f"{remote.url}: got {size} bytes for {remote.path}, expected {remote.size}; "
                            "the file was deleted, run the same command again.")
    if remote.size is not None and size < remote.size:
        raise DownloadError(f"{remote.url}: the download of {remote.path} stopped after {size} of "
                            f"{remote.size} bytes; run the same command again to resume.")
    digest = sha256_of(part)
    if remote.sha256 is not None and digest != remote.sha256:
        part.unlink()
        raise ChecksumMismatchError(remote.path, remote.sha256, digest,
                                    hint=f"downloaded from {remote.url}; the bad file was deleted")
    return digest


# -- HTTP --------------------------------------------------------------------------------------------
def _download(fetch: _Fetch, remote: RemoteFile, part: Path) -> None:
    """Write ``remote.url`` into ``part``, continuing an existing ``part`` when the server allows."""
    offset = part.stat().st_size if part.exists() else 0
    if remote.size is not None and offset > remote.size:
        part.unlink()
        offset = 0
    if remote.size is not None and offset == remote.size:
        return  # complete from an earlier run; the checksum decides
    response = _open(fetch, remote, offset)
    if response is None:
        return  # 416: nothing left to send
    with response:
        offset = _resume_offset(response, offset, remote, part)
        _refuse_html_header(response, remote)
        length = response.headers.get("Content-Length")
        expected = offset + int(length) if length and length.isdigit() else None
        _copy_body(fetch, remote, response, part, offset, expected)
    received = part.stat().st_size
    if expected is not None and received < expected:
        raise DownloadError(f"{remote.url}: the connection closed after {received} of {expected} bytes "
                            f"of {remote.path}; run the same command again to resume.")


def _open(fetch: _Fetch, remote: RemoteFile, offset: int) -> Any:
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(remote.url, headers=headers)
    try:
        return fetch.opener(request, timeout=fetch.timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:
            return None
        raise DownloadError(f"{remote.url} answered HTTP {error.code} ({error.reason}) for {remote.path}; "
                            f"{fetch.manual_hint()}.") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(f"Could not reach {urlparse(remote.url).hostname} ({reason}); "
                            f"{fetch.manual_hint()}.") from None


def _resume_offset(response: Any, offset: int, remote: RemoteFile, part: Path) -> int:
    """Where the body starts: ``offset`` for a 206 that honours our Range, 0 for a 200 (the server
    ignored the Range: start over). A 206 for another range is refused and the part discarded."""
    if not offset:
        return 0
    status = getattr(response, "status", None) or response.getcode()
    if status != 206:
        return 0
    content_range = response.headers.get("Content-Range", "").replace(" ", "")
    if not content_range.startswith(f"bytes{offset}-"):
        part.unlink(missing_ok=True)
        raise DownloadError(f"{remote.url} answered a resume request with the wrong range ({content_range!r}); "
                            "the partial file was deleted, run the same command again.")
    return offset


def _refuse_html_header(response: Any, remote: RemoteFile) -> None:
    content_type = (response.headers.get("Content-Type") or "").lower()
    if "text/html" in content_type and not remote.path.lower().endswith((".html", ".htm")):
        raise DownloadError(_html_message(remote))


def _html_message(remote: RemoteFile) -> str:
    return (f"{remote.url} returned an HTML page instead of {remote.path} (an error, login or rate-limit "
            "page?); open the URL in a browser to see why, or download the file yourself.")


def _sniff(first: bytes, remote: RemoteFile) -> None:
    """Refuse bodies that are clearly not the data: an HTML page or a Git LFS pointer."""
    head = first[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) and not remote.path.lower().endswith((".html", ".htm")):
        raise DownloadError(_html_message(remote))
    if head.startswith(b"version https://git-lfs.github.com/spec/"):
        raise DownloadError(f"{remote.url} returned a Git LFS pointer, not {remote.path}; the catalog URL "
                            "must point at the LFS media, download the file yourself meanwhile.")


def _copy_body(fetch: _Fetch, remote: RemoteFile, response: Any, part: Path, offset: int,
               expected: int | None) -> None:
    """Stream the body into ``part`` (appending after ``offset``), with a bar when asked."""
    total = expected if expected is not None else remote.size
    with part.open("ab" if offset else "wb") as out, tqdm(
        total=total, initial=offset, unit="B", unit_scale=True, desc=f"{fetch.entry.name}/{remote.path}",
        leave=False, disable=not fetch.bars, file=sys.stderr,
    ) as bar:
        first = offset == 0
        try:
            while chunk := response.read(CHUNK):
                if first:
                    first = False
                    _sniff_or_discard(chunk, remote, out, part)
                out.write(chunk)
                bar.update(len(chunk))
        except (OSError, http.client.HTTPException) as error:
            out.flush()
            raise DownloadError(f"{remote.url}: the download of {remote.path} broke off after "
                                f"{out.tell()} bytes ({error}); run the same command again to resume.") from None


def _sniff_or_discard(chunk: bytes, remote: RemoteFile, out: Any, part: Path) -> None:
    try:
        _sniff(chunk, remote)
    except DownloadError:
        out.close()
        part.unlink(missing_ok=True)
        raise


# -- zips --------------------------------------------------------------------------------------------
def _extract(fetch: _Fetch, remote: RemoteFile, archive: Path) -> None:
    """Extract the wanted members of a verified zip, each checked before it loses ``.part``."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        archive.unlink()
        raise DownloadError(f"{remote.url}: {remote.path} is not a zip archive; it was deleted.") from None
    with zf:
        names = zf.namelist()
        for name in names:
            _check_member_name(remote, name)
        for member in remote.members:
            info = zf.getinfo(_member_name(fetch.entry, remote, member.path, names))
            if member.size is not None and info.file_size != member.size:
                raise DownloadError(f"{remote.path}: member {info.filename} is {info.file_size} bytes, "
                                    f"expected {member.size}.")
            fetch.hashes[member.path] = _extract_member(zf, info, fetch.staging / member.path, member.sha256,
                                                        label=f"{remote.path}:{info.filename}")


def _check_member_name(remote: RemoteFile, name: str) -> None:
    """Refuse archives whose member names could escape the folder they are extracted into."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in pure.parts:
        raise DownloadError(f"{remote.url}: {remote.path} holds an unsafe member name {name!r} "
                            "(absolute or with '..'); refusing to extract it.")


def _member_name(entry: CatalogEntry, remote: RemoteFile, path: str, names: list[str]) -> str:
    """The archive name of a wanted member: ``<archive_root>/<path>``, else the only file with its
    base name (archives made on macOS or with an extra folder level still work)."""
    wanted = f"{entry.archive_root}/{path}" if entry.archive_root else path
    if wanted in names:
        return wanted
    base = PurePosixPath(path).name
    matches = [n for n in names if PurePosixPath(n).name == base and not n.startswith("__MACOSX/")]
    if len(matches) == 1:
        return matches[0]
    raise DownloadError(f"{remote.url}: {remote.path} has no member {wanted!r}.")


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, expected: str | None,
                    label: str) -> str:
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    with zf.open(info) as source, part.open("wb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    actual = digest.hexdigest()
    if expected is not None and actual != expected:
        part.unlink()
        raise ChecksumMismatchError(label, expected, actual)
    os.replace(part, dest)
    return actual


# -- finishing -----------------------------------------------------------------------------------------
def _finish(fetch: _Fetch) -> None:
    """Write the manifest (and SHA256SUMS when some hashes were not in the catalog)."""
    entry = fetch.entry
    files = []
    for path, known in entry.final_files():
        digest = fetch.hashes.get(path) or sha256_of(fetch.staging / path)
        files.append({"path": path, "sha256": digest, "size": (fetch.staging / path).stat().st_size,
                      "verified": known is not None or _archive_verified(entry, path)})
    sources = [{"path": f.path, "url": f.url, "sha256": fetch.hashes.get(f.path, f.sha256),
                "verified": f.verified} for f in entry.files]
    manifest = {"name": entry.name, "layout": entry.layout, "homepage": entry.homepage,
                "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "sources": sources, "files": files}
    (fetch.staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    if not entry.verified:
        _write_sums(fetch, sources, files)
    for remote in entry.files:
        if remote.unzip:
            (fetch.staging / remote.path).unlink()


def _archive_verified(entry: CatalogEntry, path: str) -> bool:
    return any(f.verified and any(m.path == path for m in f.members) for f in entry.files)


def _write_sums(fetch: _Fetch, sources: list[dict], files: list[dict]) -> None:
    lines = [f"{f['sha256']}  {f['path']}" for f in files]
    (fetch.staging / SUMS_FILE).write_text("\n".join(lines) + "\n")
    fetch.echo(f"{fetch.entry.name}: the catalog has no sha256 for some files; computed (also in {SUMS_FILE}):")
    for source in sources:
        if not source["verified"]:
            fetch.echo(f"  {source['sha256']}  {source['path']}  ({source['url']})")
    downloaded = {source["path"] for source in sources}
    for file in files:
        if not file["verified"] and file["path"] not in downloaded:
            fetch.echo(f"  {file['sha256']}  {file['path']}")


def _refuse_unverified(entry: CatalogEntry, trust_unverified: bool) -> None:
    missing = entry.unverified_files()
    if missing and not trust_unverified:
        raise DownloadError(
            f"The catalog has no sha256 for {', '.join(f.path for f in missing)} of {entry.name}, so the "
            "download could not be verified; run again with --trust-unverified to fetch it anyway "
            f"(the computed hashes are printed and written to {SUMS_FILE})."
        )


def _recorded_hashes(folder: Path) -> dict[str, str]:
    """path -> sha256 from a fetched folder's manifest; empty for a folder placed by hand."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return {}
    try:
        data = json.loads(manifest.read_text())
        return {f["path"]: f["sha256"] for f in data.get("files", []) if f.get("sha256")}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise BadInputError(manifest, None, "not a kgrec dataset manifest") from None


@contextmanager
def _staging_lock(staging: Path, name: str) -> Iterator[Callable[[], None]]:
    """Hold ``<staging>/.lock`` while fetching; a second fetch of the same dataset stops at once.

    Yields ``release``, which removes the lock file; call it just before the staging folder is
    renamed so the file never reaches the dataset.
    """
    lock_path = staging / ".lock"
    with lock_path.open("w") as handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise DownloadError(f"Another 'kgrec data fetch {name}' is writing {staging}; "
                                    "wait for it to finish.") from None
        try:
            yield lambda: lock_path.unlink(missing_ok=True)
        finally:
            if staging.is_dir():
                lock_path.unlink(missing_ok=True)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n} bytes"
