"""One catalog file over HTTP(S) into a ``.part`` file, continued where an earlier run stopped.

A present ``.part`` is continued with an HTTP Range request; a server that ignores the Range gets
the file from the start, one that answers another range is refused. Bodies that are clearly not
the data (an HTML page, a Git LFS pointer) are refused before they are kept. Checking the finished
file is :mod:`ingest.verify`'s job; the staging folder and its life are :mod:`ingest.download`'s.
"""

from __future__ import annotations

import http.client
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tqdm import tqdm

from ingest.catalog import CatalogEntry, RemoteFile
from ingest.verify import CHUNK
from kg_store.errors import DownloadError

USER_AGENT = "kgrec-data-fetch/0.1 (+urllib)"

Opener = Callable[..., Any]  # urllib.request.urlopen(request, timeout=...)
Echo = Callable[[str], None]


@dataclass
class FetchJob:
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


# -- HTTP --------------------------------------------------------------------------------------------
def download_part(fetch: FetchJob, remote: RemoteFile, part: Path) -> None:
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


def _open(fetch: FetchJob, remote: RemoteFile, offset: int) -> Any:
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


def _copy_body(fetch: FetchJob, remote: RemoteFile, response: Any, part: Path, offset: int,
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
