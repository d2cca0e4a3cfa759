"""Is a file or a dataset folder the one the catalog describes? Size and sha256 checks.

A fetched folder carries a manifest (``kgrec-dataset.json``) with the sha256 of every file, so a
file the catalog has no hash for is still checked against what was downloaded.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ingest.catalog import CatalogEntry, RemoteFile
from kg_store.errors import BadInputError, ChecksumMismatchError, DownloadError

MANIFEST = "kgrec-dataset.json"
SUMS_FILE = "SHA256SUMS"
CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_folder(entry: CatalogEntry, folder: Path | str) -> Path:
    """Check that ``folder`` holds every file of ``entry`` with the expected sha256.

    The catalog's hash is used when it has one, else the one the folder's own manifest recorded
    at fetch time; a file with neither is only checked for presence.
    """
    folder = Path(folder)
    recorded = recorded_hashes(folder)
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


def check_part(remote: RemoteFile, part: Path) -> str:
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


def recorded_hashes(folder: Path) -> dict[str, str]:
    """path -> sha256 from a fetched folder's manifest; empty for a folder placed by hand."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return {}
    try:
        data = json.loads(manifest.read_text())
        return {f["path"]: f["sha256"] for f in data.get("files", []) if f.get("sha256")}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise BadInputError(manifest, None, "not a kgrec dataset manifest") from None
