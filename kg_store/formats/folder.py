"""Make an export appear whole or not at all.

A format writes into a fresh hidden folder beside the target, ``.<OUT>.partial-<uuid>``, which is
then renamed to ``OUT`` in one step (POSIX ``rename`` replaces an empty directory atomically).
An export that fails or is killed half way therefore never leaves a readable but incomplete
dataset at ``OUT``, and a failed one removes its hidden folder. ``OUT`` must be absent or empty:
files from an earlier export mixed with new ones would read back as a different dataset.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from kg_store.errors import ConfigError


def check_target(out: Path) -> None:
    """Refuse an ``OUT`` that is a file or a folder with something in it."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} is a file; give a folder that is empty or does not exist yet.")
    if out.is_dir() and any(out.iterdir()):
        raise ConfigError(f"{out} is not empty; give a folder that is empty or does not exist yet.")


def write_atomically(out: Path | str, write: Callable[[Path], list[Path]]) -> list[Path]:
    """Run ``write`` on a hidden folder and rename it to ``out``; returns the paths under ``out``."""
    out = Path(out)
    check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.parent / f".{out.name}.partial-{uuid.uuid4().hex}"
    partial.mkdir()
    try:
        written = write(partial)
        _rename_into(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return [out / path.relative_to(partial) for path in written]


def _rename_into(partial: Path, out: Path) -> None:
    try:
        os.rename(partial, out)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
            raise ConfigError(f"{out} was filled by something else while the export ran; nothing was written "
                              "there.") from exc
        raise
