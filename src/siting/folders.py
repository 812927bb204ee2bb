"""The folders siting writes: what each ``--out`` may be, and how a folder replaces another.

siting never deletes or overwrites what it did not write. A folder it writes carries a
marker file, written last: ``.siting-run`` in a run folder (with its ``solution.json``, or a
bench's ``failure.json``), ``.siting-runs`` in a folder of runs (bench, pareto, robust,
alternatives). An output may go only where nothing is, into an empty folder, or over a
folder of its own kind; anything else is refused with one line before any work is done.

A folder is written into a hidden temporary sibling ``.<name>.siting-tmp-*`` that is
renamed into place. Writers of one parent folder take turns (a lock on the parent) to
create their temporaries and to swap them in; each holds a lock on its own temporary while
it writes, so the temporaries of writers that died (killed, or the machine lost) are told
apart from live ones and removed by the next writer of the same folder.
A single file (a page, a table) is written the same way by :func:`write_atomic`.
"""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from siting.errors import InputError

TEMPORARY = "siting-tmp-"  # .<name>.siting-tmp-<random>: a folder being written
REPLACED = "siting-old-"  # .<name>.siting-old-<random>: a folder being replaced
GENERATOR = '<meta name="generator" content="siting">'  # in every page siting writes


@dataclass(frozen=True)
class Kind:
    """A kind of folder siting writes, and how it recognises one of its own."""

    what: str
    marker: str | None = None  # written last into the folder
    records: tuple[str, ...] = ()  # one of these must be in the folder too

    def holds(self, folder: Path) -> bool:
        """Tell whether ``folder`` is a finished folder of this kind."""
        return (self.marker is not None and (folder / self.marker).is_file()
                and (not self.records or any((folder / r).is_file() for r in self.records))
                and not is_temporary(folder))


RUN = Kind("a run folder of siting", ".siting-run", ("solution.json", "failure.json"))
RUNS = Kind("a folder of runs of siting (bench, pareto, robust, alternatives)", ".siting-runs")
NEW = Kind("an empty folder")


def is_temporary(folder: Path) -> bool:
    """Tell whether ``folder`` is one a writer of siting is writing or replacing."""
    return folder.name.startswith(".") and (TEMPORARY in folder.name or REPLACED in folder.name)


def check_target(out: str | Path, kind: Kind) -> Path:
    """Return the absolute path of the folder ``out`` if siting may write it as ``kind``.

    It may if nothing is there, if it is an empty folder, or if it is a finished folder
    of ``kind``; and if its nearest existing parent is a folder siting can write into.
    What is there is looked at under the lock of its parent, while no writer swaps.

    Raises
    ------
    siting.errors.InputError
        If ``out`` may not be written, naming it and why.
    """
    if not str(out).strip():
        raise InputError("--out", None, "empty path; give the folder to write")
    path = Path(os.path.abspath(out))
    if path.resolve() == Path.cwd() or path.resolve() in Path.cwd().parents:
        raise InputError(path, None, "is the working directory or holds it; give a folder "
                         "of its own to write")
    if path.parent.is_dir():
        with _locked(path.parent):
            _check_there(path, kind)
    _check_writable(path)
    return path


def _check_there(path: Path, kind: Kind) -> None:
    """Refuse what is at ``path`` unless it is nothing, an empty folder or one of ``kind``."""
    if path.is_symlink() or path.exists():
        if not path.is_dir() or path.is_symlink():
            raise InputError(path, None, f"exists and is a file or a link, not a folder; "
                             f"expected {kind.what}")
        if any(path.iterdir()) and not kind.holds(path):
            raise InputError(path, None, f"exists and is not {kind.what}"
                             + (f" (no {kind.marker})" if kind.marker else "")
                             + "; siting replaces only what it wrote: choose another folder")


def check_page(out: str | Path) -> Path:
    """Return the path of the page ``out`` if siting may write it: a new or own .html file.

    Raises
    ------
    siting.errors.InputError
        If ``out`` is not an .html path, or is a folder or a file siting did not write.
    """
    path = Path(os.path.abspath(out))
    if path.suffix.lower() not in (".html", ".htm"):
        raise InputError(path, None, "expected an .html file to write the page to")
    if path.is_dir():
        raise InputError(path, None, "is a folder; expected an .html file")
    if path.exists():
        with path.open("rb") as handle:
            head = handle.read(4096).decode("utf-8", errors="replace")
        if GENERATOR not in head:
            raise InputError(path, None, "exists and is not a page siting wrote; siting "
                             "replaces only what it wrote: choose another file")
    _check_writable(path)
    return path


def _check_writable(path: Path) -> None:
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(path, None, f"cannot be written: {parent} is a file")
    try:
        tempfile.TemporaryDirectory(dir=parent, prefix=".siting-probe-").cleanup()
    except OSError as exc:
        raise InputError(path, None, f"cannot be written: {exc.strerror} in {parent}") from None


def claim_runs(out: str | Path) -> Path:
    """Make ``out`` a folder of runs (created, with its marker) and return its path.

    Raises
    ------
    siting.errors.InputError
        If ``out`` is something else (see :func:`check_target`).
    """
    path = check_target(out, RUNS)
    path.mkdir(parents=True, exist_ok=True)
    (path / RUNS.marker).touch()
    return path


def write_folder(out: str | Path, fill: Callable[[Path], None], kind: Kind = RUN) -> Path:
    """Write the folder ``out`` atomically, and return its path.

    ``fill(folder)`` writes into a temporary sibling folder; then the marker of ``kind``
    is added and the folder replaces ``out``. If ``fill`` fails (Ctrl-C included),
    ``out`` is left as it was and nothing else remains.

    Raises
    ------
    siting.errors.InputError
        If ``out`` may not be written as ``kind`` (see :func:`check_target`): checked
        before ``fill`` and again when swapping.
    """
    out = check_target(out, kind)
    out.parent.mkdir(parents=True, exist_ok=True)
    with _locked(out.parent):
        _remove_partial(out)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.{TEMPORARY}", dir=out.parent))
        lock = _lock(tmp)
    try:
        fill(tmp)
        checkpoint("filled")
        if kind.marker is not None:
            (tmp / kind.marker).touch()
        os.chmod(tmp, 0o755)  # as a folder made by mkdir, not mkdtemp's private 0o700
        checkpoint("marked")
        with _locked(out.parent):
            _check_there(out, kind)
            _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        os.close(lock)
    return out


def _swap(tmp: Path, out: Path) -> None:
    if not out.exists():
        os.replace(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.{REPLACED}", dir=out.parent))
    os.replace(out, old)  # onto the empty folder just made: a name no one else holds
    checkpoint("swapping")
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def remove_partial(out: str | Path) -> None:
    """Remove what writers of ``out`` that died mid-write left beside it.

    Only siting's temporaries that no live writer holds are removed.
    """
    out = Path(os.path.abspath(out))
    if out.parent.is_dir():
        with _locked(out.parent):
            _remove_partial(out)


def _remove_partial(out: Path) -> None:
    """Remove the dead writers' temporaries of ``out``; the caller holds its parent's lock."""
    for prefix in (TEMPORARY, REPLACED):
        for partial in out.parent.glob(f".{glob.escape(out.name)}.{prefix}*"):
            if partial.is_dir() and not partial.is_symlink() and _unheld(partial):
                shutil.rmtree(partial, ignore_errors=True)


def _unheld(folder: Path) -> bool:
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)
    return True


def _lock(folder: Path) -> int:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    return descriptor


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    descriptor = _lock(folder)
    try:
        yield
    finally:
        os.close(descriptor)


def checkpoint(step: str) -> None:
    """Stop this process at ``step`` when ``SITING_STOP_AT`` names it (the kill tests)."""
    if os.environ.get("SITING_STOP_AT") == step:
        os.kill(os.getpid(), signal.SIGSTOP)


def write_atomic(path: Path, text: str) -> Path:
    """Write a text file atomically: a temporary file in the same folder, then a rename."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                             suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
