"""The wanted members of a downloaded zip, extracted into the staging folder and checked.

Member names that could escape the folder (absolute, or with ``..``) are refused before anything is
extracted; each member is written as ``.part`` and loses the suffix only once its size and sha256
match the catalog.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path, PurePosixPath

from ingest.catalog import RemoteFile
from ingest.verify import CHUNK
from kg_store.errors import ChecksumMismatchError, DownloadError


def extract_members(remote: RemoteFile, archive: Path, archive_root: str, staging: Path) -> dict[str, str]:
    """Extract the wanted members of a verified zip into ``staging``, each checked before it loses
    ``.part``; returns member path -> sha256."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        archive.unlink()
        raise DownloadError(f"{remote.url}: {remote.path} is not a zip archive; it was deleted.") from None
    hashes: dict[str, str] = {}
    with zf:
        names = zf.namelist()
        for name in names:
            _check_member_name(remote, name)
        for member in remote.members:
            info = zf.getinfo(_member_name(archive_root, remote, member.path, names))
            if member.size is not None and info.file_size != member.size:
                raise DownloadError(f"{remote.path}: member {info.filename} is {info.file_size} bytes, "
                                    f"expected {member.size}.")
            hashes[member.path] = _extract_member(zf, info, staging / member.path, member.sha256,
                                                  label=f"{remote.path}:{info.filename}")
    return hashes


def _check_member_name(remote: RemoteFile, name: str) -> None:
    """Refuse archives whose member names could escape the folder they are extracted into."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in pure.parts:
        raise DownloadError(f"{remote.url}: {remote.path} holds an unsafe member name {name!r} "
                            "(absolute or with '..'); refusing to extract it.")


def _member_name(archive_root: str, remote: RemoteFile, path: str, names: list[str]) -> str:
    """The archive name of a wanted member: ``<archive_root>/<path>``, else the only file with its
    base name (archives made on macOS or with an extra folder level still work)."""
    wanted = f"{archive_root}/{path}" if archive_root else path
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
