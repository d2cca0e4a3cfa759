"""Fetch a catalog dataset into a folder that is either complete and verified, or absent.

Every file is downloaded into ``<data home>/.staging-<name>/`` as ``<file>.part``; a second run
continues a ``.part`` with an HTTP Range request (and starts over when the server ignores it).
Each file is checked against the catalog's size and sha256 before it loses its ``.part``; zips are
checked, then only the wanted members are extracted. When all is verified, a manifest
(``kgrec-dataset.json``) is written and the staging folder is renamed to ``<data home>/<name>``
with one ``os.replace``, so a reader never sees half a dataset.

Plain ``urllib.request`` rather than pooch: pooch cannot resume an interrupted download, and the
big KGAT and MovieLens files are exactly the ones that get interrupted. The transfer itself is
:mod:`ingest.download_http`, zip extraction :mod:`ingest.download_zip`, the checks :mod:`ingest.verify`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ingest.catalog import CatalogEntry, RemoteFile
from ingest.download_http import Echo, FetchJob, Opener, download_part
from ingest.download_zip import extract_members
from ingest.verify import MANIFEST, SUMS_FILE, check_part, sha256_of, verify_folder
from kg_store.errors import DownloadError

try:  # POSIX: keep two fetches of one dataset from writing the same staging folder
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["MANIFEST", "SUMS_FILE", "fetch_dataset", "sha256_of", "verify_folder"]

TIMEOUT_S = 60.0


def _stderr(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


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
    fetch = FetchJob(entry, staging, target, opener, timeout, bars, echo)
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


# -- one file ----------------------------------------------------------------------------------------
def _fetch_file(fetch: FetchJob, remote: RemoteFile) -> None:
    """Bring one catalog file into the staging folder, verified; a zip is then extracted (it stays
    in staging, so a later run can re-extract without downloading, until the dataset is installed)."""
    path = _download_verified(fetch, remote)
    if remote.unzip:
        fetch.hashes.update(extract_members(remote, path, fetch.entry.archive_root, fetch.staging))


def _download_verified(fetch: FetchJob, remote: RemoteFile) -> Path:
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
    download_part(fetch, remote, part)
    digest = check_part(remote, part)
    os.replace(part, final)
    fetch.hashes[remote.path] = digest
    if not fetch.bars:
        state = "sha256 verified" if remote.verified else f"sha256 {digest} (not in the catalog)"
        fetch.echo(f"{fetch.entry.name}: {remote.path} {_size(final.stat().st_size)} "
                   f"in {time.perf_counter() - started:.1f} s, {state}")
    return final


# -- finishing -----------------------------------------------------------------------------------------
def _finish(fetch: FetchJob) -> None:
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


def _write_sums(fetch: FetchJob, sources: list[dict], files: list[dict]) -> None:
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
