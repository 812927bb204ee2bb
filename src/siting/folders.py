"""The folders siting writes: what each ``--out`` may be, and how a folder replaces another.

siting never deletes or overwrites what it did not write. A folder it writes carries a
marker file, written last: ``.siting-run`` in a run folder (with its ``solution.json``, or a
bench's ``failure.json``), ``.siting-runs`` in a folder of runs (bench, pareto, robust,
alternatives). An output may go only where nothing is, into an empty folder, or over a
folder of its own kind that holds only files of the names siting writes there; anything
else (a file of the planner's in a run folder, the instance being read) is refused with
one line before any work is done.

A folder is written into a hidden temporary sibling ``.<name>.siting-tmp-*`` that is
renamed into place. Writers of one parent folder take turns (a lock on the parent) to
create their temporaries and to swap them in; each holds a lock on its own temporary while
it writes, so the temporaries of writers that died (killed, or the machine lost) are told
apart from live ones and removed by the next writer of the same folder. A folder being
replaced is renamed aside first; if the writer dies before the new one is in place, the
next writer of the same folder renames it back instead of removing it.
A single file (a page, a table) is written the same way by :func:`write_atomic`.
An output that cannot be written (disk full, a file size limit) is an
:class:`~siting.errors.OutputError`, and nothing of it is left.
"""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from siting.errors import InputError, OutputError
from siting.inputs import real_path

TEMPORARY = "siting-tmp-"  # .<name>.siting-tmp-<random>: a folder being written
REPLACED = "siting-old-"  # .<name>.siting-old-<random>: a folder being replaced
GENERATOR = '<meta name="generator" content="siting">'  # in every page siting writes
RANDOM = 8  # characters of tempfile's random part of a name
FOLDER_AFFIX = len(f"..{REPLACED}") + RANDOM  # what a temporary folder's name adds to out's
FILE_AFFIX = len("...tmp") + RANDOM  # what write_atomic's temporary file adds to the name
DEPTH = len("/periods/2030/solution.gpkg-journal")  # the deepest path siting writes inside


@dataclass(frozen=True)
class Kind:
    """A kind of folder siting writes, and how it recognises one of its own."""

    what: str
    marker: str | None = None  # written last into the folder
    records: tuple[str, ...] = ()  # one of these must be in the folder too
    own: frozenset[str] = frozenset()  # the names siting writes in it (a folder: own folders)

    def holds(self, folder: Path) -> bool:
        """Tell whether ``folder`` is a finished folder of this kind."""
        return (self.marker is not None and (folder / self.marker).is_file()
                and (not self.records or any((folder / r).is_file() for r in self.records))
                and not is_temporary(folder))


RUN = Kind("a run folder of siting", ".siting-run", ("solution.json", "failure.json"),
           frozenset({".siting-run", "solution.json", "failure.json", "verification.json",
                      "facilities.csv", "flows.csv", "regions.csv", "periods.csv",
                      "solution.gpkg", "periods"}))  # and pages siting drew: map.html, ...
RUNS = Kind("a folder of runs of siting (bench, pareto, robust, alternatives)", ".siting-runs")
NEW = Kind("an empty folder")


def is_temporary(folder: Path) -> bool:
    """Tell whether ``folder`` is one a writer of siting is writing or replacing."""
    return folder.name.startswith(".") and (TEMPORARY in folder.name or REPLACED in folder.name)


def check_target(out: str | Path, kind: Kind, reading: Iterable[Path] = ()) -> Path:
    """Return the absolute path of the folder ``out`` if siting may write it as ``kind``.

    It may if nothing is there, if it is an empty folder, or if it is a finished folder
    of ``kind`` holding only what siting writes there; if it neither holds nor lies in a
    folder of ``reading`` (the instance being read); if its name fits the file system with
    siting's temporary names; and if its nearest existing parent is a folder siting can
    write into. What is there is looked at under the lock of its parent, while no writer
    swaps.

    Raises
    ------
    siting.errors.InputError
        If ``out`` may not be written, naming it and why.
    """
    if not str(out).strip():
        raise InputError("--out", None, "empty path; give the folder to write")
    path = Path(os.path.abspath(out))
    _check_length(path, FOLDER_AFFIX)
    if real_path(path) == Path.cwd() or real_path(path) in Path.cwd().parents:
        raise InputError(path, None, "is the working directory or holds it; give a folder "
                         "of its own to write")
    for source in reading:
        _check_apart(path, Path(source))
    if path.parent.is_dir():
        with _locked(path.parent):
            _check_there(path, kind)
    _check_writable(path)
    return path


def _check_apart(path: Path, source: Path) -> None:
    """Refuse ``path`` if it holds the folder ``source`` or lies in it."""
    where, source = real_path(path), real_path(source)
    if where == source or source in where.parents:
        raise InputError(path, None, f"is inside the instance being read ({source}): "
                         "choose a folder outside it")
    if where in source.parents:
        raise InputError(path, None, f"holds the instance being read ({source}): "
                         "choose another --out")


def _check_length(path: Path, affix: int) -> None:
    """Refuse a path the file system cannot hold with a temporary name ``affix`` bytes longer."""
    parent = _existing_parent(path)
    name_max, path_max = _limit(parent, "PC_NAME_MAX", 255), _limit(parent, "PC_PATH_MAX", 4096)
    for part in path.parts[1:-1]:
        if len(os.fsencode(part)) > name_max:
            raise InputError(path, None, f"a folder name in it is {len(os.fsencode(part))} "
                             f"bytes long; the file system allows {name_max}")
    size = len(os.fsencode(path.name))
    if size + affix > name_max:
        raise InputError(path, None, f"its name is {size} bytes long; siting writes it through "
                         f"a temporary name {affix} bytes longer, so at most {name_max - affix} "
                         "bytes fit: choose a shorter name (--out, a scenario's name or file)")
    if len(os.fsencode(str(path))) + affix + DEPTH > path_max:
        raise InputError(path, None, f"the path is {len(os.fsencode(str(path)))} bytes long; "
                         f"with what siting writes inside, at most {path_max - affix - DEPTH} "
                         "fit: choose a shorter path")


def _existing_parent(path: Path) -> Path:
    """Return the deepest existing folder on the way to ``path`` (not ``path`` itself)."""
    found = Path(path.anchor)
    for part in path.parts[1:-1]:
        try:
            if not (found / part).is_dir():
                break
        except OSError:  # a name too long, a loop of links
            break
        found = found / part
    return found


def _limit(folder: Path, name: str, default: int) -> int:
    try:
        return os.pathconf(folder, name)
    except (OSError, ValueError):
        return default


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
        found = strangers(path, kind.own) if kind.own else []
        if found:
            more = f" and {len(found) - 1} more" if len(found) > 1 else ""
            raise InputError(path, None, f"holds {found[0].relative_to(path)}{more}, which "
                             "siting did not write: move it or choose another --out")


def strangers(folder: Path, own: frozenset[str]) -> list[Path]:
    """Return what in ``folder`` siting did not write: all but the files named in ``own``.

    A name of ``own`` that is a folder holds folders of the same kind (``periods/2030``);
    an ``.html`` page siting drew (:func:`is_own_page`) is its own too, a link never is.
    """
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink() or entry.name not in own and not is_own_page(entry):
            found.append(entry)
        elif entry.is_dir():
            for inner in sorted(entry.iterdir()):
                found += (strangers(inner, own) if inner.is_dir() and not inner.is_symlink()
                          else [inner])
    return found


def is_own_page(path: Path) -> bool:
    """Tell whether ``path`` is an .html page siting wrote (it holds :data:`GENERATOR`)."""
    if path.suffix.lower() not in (".html", ".htm") or not path.is_file():
        return False
    with path.open("rb") as handle:
        return GENERATOR in handle.read(4096).decode("utf-8", errors="replace")


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
    _check_length(path, FILE_AFFIX)
    if path.is_symlink():
        raise InputError(path, None, "is a link; expected an .html file siting may replace")
    if path.is_dir():
        raise InputError(path, None, "is a folder; expected an .html file")
    if path.exists() and not is_own_page(path):
        raise InputError(path, None, "exists and is not a page siting wrote; siting "
                         "replaces only what it wrote: choose another file")
    _check_writable(path)
    return path


def _check_writable(path: Path) -> None:
    parent = _existing_parent(path)
    blocker = parent / path.relative_to(parent).parts[0]
    if blocker != path and not blocker.is_dir() and (blocker.exists() or blocker.is_symlink()):
        what = "a file" if blocker.exists() else "a link to nothing, or a loop of links"
        raise InputError(path, None, f"cannot be written: {blocker} is {what}")
    try:
        tempfile.TemporaryDirectory(dir=parent, prefix=".siting-probe-").cleanup()
    except OSError as exc:
        raise InputError(path, None, f"cannot be written: {exc.strerror} in {parent}") from None


def claim_runs(out: str | Path, reading: Iterable[Path] = ()) -> Path:
    """Make ``out`` a folder of runs (created, with its marker) and return its path.

    Raises
    ------
    siting.errors.InputError
        If ``out`` is something else, or holds or lies in a folder of ``reading`` (see
        :func:`check_target`).
    """
    path = check_target(out, RUNS, reading)
    with writing(path):
        path.mkdir(parents=True, exist_ok=True)
        (path / RUNS.marker).touch()
    return path


@contextmanager
def writing(out: Path) -> Iterator[None]:
    """Turn an error of the file system while writing ``out`` into an OutputError naming it."""
    try:
        yield
    except OutputError as exc:  # of a file written inside out
        raise OutputError(out, exc.reason) from None
    except OSError as exc:
        raise OutputError(out, exc.strerror or str(exc)) from None


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
    siting.errors.OutputError
        If the file system fails a write (disk full, a file size limit).
    """
    out = check_target(out, kind)
    with writing(out):
        out.parent.mkdir(parents=True, exist_ok=True)
        with _locked(out.parent):
            _remove_partial(out)
            tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.{TEMPORARY}", dir=out.parent))
            lock = _lock(tmp)
            FILLING.add(tmp)
        try:
            fill(tmp)
            checkpoint("filled")
            if kind.marker is not None:
                (tmp / kind.marker).touch()
            os.chmod(tmp, 0o755)  # as a folder made by mkdir, not mkdtemp's private 0o700
            checkpoint("marked")
            with _locked(out.parent):
                FILLING.discard(tmp)  # from here a stop leaves what a killed writer leaves
                _check_there(out, kind)
                _swap(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        finally:
            FILLING.discard(tmp)
            os.close(lock)
    return out


FILLING: set[Path] = set()
"""The temporary folders this process is filling (:func:`write_folder`), not yet swapping."""


def abandon_writes() -> None:
    """Remove the temporaries this process is filling: it is about to exit at once."""
    for tmp in list(FILLING):
        shutil.rmtree(tmp, ignore_errors=True)


def _swap(tmp: Path, out: Path) -> None:
    """Put ``tmp`` in the place of ``out``; if that fails, ``out`` is back as it was."""
    if not out.exists():
        os.replace(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.{REPLACED}", dir=out.parent))
    try:
        os.replace(out, old)  # onto the empty folder just made: a name no one else holds
    except BaseException:
        old.rmdir()
        raise
    try:
        checkpoint("swapping")
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def remove_partial(out: str | Path) -> None:
    """Remove what writers of ``out`` that died mid-write left beside it.

    Only siting's temporaries that no live writer holds are removed; a folder that one of
    them was replacing is put back in place when ``out`` is missing.
    """
    out = Path(os.path.abspath(out))
    if out.parent.is_dir():
        with _locked(out.parent):
            _remove_partial(out)


def _remove_partial(out: Path) -> None:
    """Clean up after the dead writers of ``out``; the caller holds its parent's lock."""
    dead = {prefix: sorted((p for p in out.parent.glob(f".{glob.escape(out.name)}.{prefix}*")
                            if p.is_dir() and not p.is_symlink() and _unheld(p)),
                           key=lambda p: p.stat().st_mtime_ns)
            for prefix in (TEMPORARY, REPLACED)}
    if dead[REPLACED] and not (out.exists() or out.is_symlink()):
        os.replace(dead[REPLACED].pop(), out)  # the writer died between its two renames
    for partial in dead[TEMPORARY] + dead[REPLACED]:
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
    """Write a text file atomically: a temporary file in the same folder, then a rename.

    Raises
    ------
    siting.errors.OutputError
        If the file system fails the write (disk full, a file size limit): the file is as
        it was.
    """
    path = Path(path)
    with writing(path):
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
