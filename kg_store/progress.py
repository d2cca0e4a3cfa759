"""Progress that suits both a terminal and a log file.

On a terminal a stage shows a tqdm bar; when the output is redirected (CI, ``make demo > log``) a
stage prints at most one line when it ends, never carriage-return frames. ``progress=True`` forces
bars, ``progress=False`` silences everything, ``None`` (the default everywhere) picks by terminal.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm.auto import tqdm

Progress = bool | None  # True: bars, False: silent, None: bars on a terminal, else one line per stage


def bars_enabled(progress: Progress) -> bool:
    """Whether to draw bars: forced on, forced off, or only when stderr is a terminal."""
    if progress is not None:
        return progress
    return sys.stderr.isatty()


def log_lines_enabled(progress: Progress) -> bool:
    """One summary line per stage when bars are off because the output is not a terminal."""
    return progress is None and not sys.stderr.isatty()


@contextmanager
def stage(description: str, total: int | None, progress: Progress = None,
          unit: str = "rows") -> Iterator[Callable[[int], None]]:
    """A unit of work with a known size; yields ``advance(n)``.

    Bars are drawn per ``bars_enabled``; in a log, one line ``description: N unit in S s`` is
    printed when the stage ends.
    """
    started = time.perf_counter()
    done = 0
    with tqdm(total=total, desc=description, unit=f" {unit}", leave=False,
              disable=not bars_enabled(progress)) as bar:
        def advance(n: int) -> None:
            nonlocal done
            done += n
            bar.update(n)

        yield advance
    if log_lines_enabled(progress):
        print(f"{description}: {done:,} {unit} in {time.perf_counter() - started:.1f} s",
              file=sys.stderr, flush=True)


def note(message: str, progress: Progress = None) -> None:
    """A one-line status message on stderr (resuming, fetching), unless progress is silenced."""
    if progress is not False:
        print(message, file=sys.stderr, flush=True)


def iterate(items, description: str, progress: Progress = None, total: int | None = None):
    """``tqdm(items)`` when bars are enabled, the plain iterable otherwise (no log line)."""
    if not bars_enabled(progress):
        return items
    return tqdm(items, desc=description, total=total, leave=False)
