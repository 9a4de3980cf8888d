"""The index folder's layout: versioned subfolders, an atomically replaced pointer, a build lock, clean-up.

::

    indexes/default/
      CURRENT                      name of the live version (replaced with one atomic rename)
      v-20261130T191200-4242-1a2b3c/   manifest.json, documents.json, chunks.jsonl, vectors.faiss, bm25/, …
      .lock                        held (flock) by the one build writing this folder

A build writes a new version folder next to the live one, then swaps ``CURRENT``: a crash at
any moment leaves the previous version live and whole. Versions that are not live are leftovers
(of a crash, or of a version a reader may still be loading) and are removed by the next build.

This module only ever creates or deletes what it can recognise as its own (the names above);
a folder that is not a policyrag index is never written into nor removed.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger(__name__)

POINTER = "CURRENT"
LOCK = ".lock"
MANIFEST = "manifest.json"
_VERSION = re.compile(r"^v-\d{8}T\d{6}-\d+-[0-9a-f]{6}$")
_POINTER_TMP = re.compile(r"^\.CURRENT\.\d+-[0-9a-f]{6}\.tmp$")
# Names an index version holds (and, for the layout before versions, the index folder itself).
INDEX_FILES = frozenset(
    {
        MANIFEST,
        "documents.json",
        "chunks.jsonl",
        "vectors.faiss",
        "vectors.deleted.npy",
        "userdict.txt",
        "ingest.jsonl.gz",
        "memo.json.gz",
        "bm25",
        "bm25/terms.jsonl",
        "bm25/params.json",
    }
)


class IndexStoreError(RuntimeError):
    """An index folder that is missing, partial, corrupt, unreadable or built for another embedder."""


class IndexFolderError(IndexStoreError):
    """An index path that cannot be used: a file, a folder that is not an index, unreadable, or busy."""


def _error(path: Path, exc: OSError) -> IndexFolderError:
    reason = exc.strerror or str(exc)
    return IndexFolderError(f"cannot use index folder {path}: {reason}; check that it exists and you may read it")


def is_index_folder(path: Path) -> bool:
    """True when ``path`` is a folder holding a policyrag index (a pointer, or a manifest of the old flat layout)."""
    return (path / POINTER).is_file() or (path / MANIFEST).is_file()


def _ours(entry: Path) -> bool:
    return entry.name == LOCK or bool(_VERSION.match(entry.name) or _POINTER_TMP.match(entry.name))


def check_target(path: Path) -> None:
    """Refuse an index path that a build must not write into.

    Allowed: nothing there yet, an empty folder, a policyrag index, or what a killed first
    build left (a lock file and unfinished version folders). Anything else — a regular file,
    a folder of the user's files — is refused, never moved or deleted.
    """
    try:
        if path.is_symlink() and not path.exists():
            raise IndexFolderError(f"{path} is a broken symbolic link; choose another --index folder")
        if not path.exists():
            return
        if not path.is_dir():
            raise IndexFolderError(f"{path} is a file, not an index folder; choose another --index folder")
        if is_index_folder(path):
            return
        foreign = sorted(p.name for p in path.iterdir() if not _ours(p))
    except OSError as exc:
        raise _error(path, exc) from exc
    if foreign:
        raise IndexFolderError(
            f"{path} is a folder that is not a policyrag index (it holds {foreign[0]!r}"
            f"{f' and {len(foreign) - 1} more' if len(foreign) > 1 else ''}); refusing to write into it — "
            "give --index a new or empty folder"
        )


def check_not_in_sources(index_dir: Path, sources: list[Path]) -> None:
    """Refuse an index folder equal to, or inside, a source folder (it would index itself, or replace the sources)."""
    target = index_dir.resolve()
    for src in sources:
        folder = src.resolve()
        if target == folder or folder in target.parents:
            raise IndexFolderError(
                f"index folder {index_dir} is inside the source folder {src}; put the index elsewhere "
                "(e.g. --index indexes/NAME)"
            )


def current_version(path: Path) -> Path | None:
    """The live version folder, the index folder itself for the old flat layout, or None when there is no index."""
    try:
        pointer = path / POINTER
        if pointer.is_file():
            name = pointer.read_text(encoding="utf-8").strip()
            if not _VERSION.match(name):
                raise IndexFolderError(f"{pointer} is corrupt (names {name[:40]!r}); rebuild with: policyrag index")
            return path / name
        if (path / MANIFEST).is_file():
            return path
    except OSError as exc:
        raise _error(path, exc) from exc
    return None


def new_version(path: Path) -> Path:
    """Create an empty, uniquely named version folder inside the index folder."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    folder = path / f"v-{stamp}-{os.getpid()}-{secrets.token_hex(3)}"
    folder.mkdir(parents=True)
    return folder


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(path: Path, version: Path) -> None:
    """Make ``version`` the live index with one atomic rename of the pointer file."""
    tmp = path / f".CURRENT.{os.getpid()}-{secrets.token_hex(3)}.tmp"
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(version.name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path / POINTER)
    _fsync_dir(path)


def clean_leftovers(path: Path) -> list[str]:
    """Remove what is not live: old or unfinished versions, pointer temporaries, the files of the old flat layout,
    and the hidden siblings the old swap could leave (``.NAME.tmp-PID``/``.NAME.old-PID``). Call under the lock.

    Returns the names removed (for the log).
    """
    try:
        live = current_version(path)
    except IndexFolderError:  # a damaged pointer: nothing is live, the build under way replaces it
        live = None
    removed: list[str] = []
    for entry in list(path.iterdir()) if path.is_dir() else []:
        if entry == live or entry.name in (LOCK, POINTER):
            continue
        if (entry.is_dir() and _VERSION.match(entry.name)) or _POINTER_TMP.match(entry.name):
            _remove(entry)
            removed.append(entry.name)
        elif live is not None and live != path and entry.name in INDEX_FILES:
            _remove(entry)  # the old flat layout, superseded by a version folder
            removed.append(entry.name)
    sibling = re.compile(rf"^\.{re.escape(path.name)}\.(?:tmp|old)-\d+$")
    for entry in path.parent.iterdir():
        if sibling.match(entry.name) and entry.is_dir() and _only_index_files(entry):
            _remove(entry)
            removed.append(str(entry))
    if removed:
        logger.info("removed leftovers of earlier builds: %s", ", ".join(removed))
    return removed


def _only_index_files(folder: Path) -> bool:
    return all(str(p.relative_to(folder)) in INDEX_FILES for p in folder.rglob("*"))


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)


# Locks this process holds, per folder and thread: a build that saves calls the lock again (re-entrant),
# while two threads of one server still exclude each other.
_HELD: dict[tuple[str, int], int] = {}


@contextmanager
def build_lock(path: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the index folder's build lock; another holder → ``IndexFolderError`` after ``wait`` seconds.

    The lock is an ``flock`` on ``.lock``: the kernel releases it when its holder exits, even by
    ``kill -9``, so a crashed build never blocks the next one.
    """
    key = (str(path.resolve()), threading.get_ident())
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise _error(path, exc) from exc
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                    raise IndexFolderError(
                        f"another policyrag build (pid {holder}) is writing {path}; wait for it to finish, "
                        "then run again"
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _HELD[key] = 1
        try:
            yield
        finally:
            del _HELD[key]
    finally:
        os.close(fd)  # releases the flock
