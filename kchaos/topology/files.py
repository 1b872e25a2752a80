"""Reading the user's files within bounds: the one place that limits what kchaos reads.

Every input file (a topology, a `kubectl get nodes -o json` export, manifests) is read here:
at most a known number of bytes (a device such as ``/dev/zero`` or a pipe that never ends
stops at the limit), decoded as UTF-8 with a message naming the encoding when it is not, and
parsed as JSON or YAML with the nesting and size limits of :mod:`.yamlsafe`. Every refusal
is a :class:`~kchaos.errors.KchaosUsageError` with the file (and line where one exists).
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from collections.abc import Iterator, Mapping
from json.decoder import scanstring
from typing import Any

from kchaos.errors import KchaosUsageError, Problem
from kchaos.topology.checker import format_path
from kchaos.topology.yamlsafe import MAX_BYTES, Path, YamlEmpty, YamlFatal, YamlTooLarge, load_yaml

#: A topology file (:data:`.yamlsafe.MAX_BYTES`).
MAX_TOPOLOGY_BYTES = MAX_BYTES
#: A Kubernetes export (`kubectl get nodes -o json`, manifests), all files of one import
#: together: 20,000 nodes of kubectl's JSON, their image lists included, are about 250 MB;
#: 256 MiB read and parsed take about 0.7 GiB and 2 s.
MAX_EXPORT_BYTES = 256 * 2**20
#: Manifest files read from the folders of one command.
MAX_FILES = 10_000

_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
         (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))


def _size(limit: int) -> str:
    return f"{limit // 2**20} MB"


def fail(filename: str, message: str, line: int | None = None) -> KchaosUsageError:
    return KchaosUsageError([Problem(filename, line, "", message)])


def read_bytes(filename: str, limit: int = MAX_TOPOLOGY_BYTES, too_big: str = "") -> bytes:
    """The file's bytes, at most ``limit`` of them: a directory, an unreadable file or a larger
    one (a device or pipe included: reading stops at the limit) is refused with ``too_big``."""
    too_big = fail(filename, too_big or f"is larger than {_size(limit)}; topology files are limited to that")
    try:
        info = os.stat(filename)
        if stat.S_ISDIR(info.st_mode):
            raise fail(filename, "is a directory, not a file")
        if info.st_size > limit:
            raise too_big
        with open(filename, "rb") as f:
            raw = f.read(limit + 1)
    except FileNotFoundError:
        raise fail(filename, "no such file") from None
    except PermissionError:
        raise fail(filename, "cannot be read: permission denied") from None
    except OSError as err:
        raise fail(filename, f"cannot be read: {err.strerror or err}") from None
    if len(raw) > limit:
        raise too_big
    return raw


def decode(raw: bytes, filename: str) -> str:
    """UTF-8 text (a BOM allowed); another encoding, binary data or bad bytes: a message with the line."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            raise fail(filename, f"is {encoding} encoded; save it as UTF-8")
    nul = raw.find(b"\0")
    if nul >= 0:
        wide = raw[:64].count(b"\0") * 2 >= min(len(raw), 64)  # every second byte: UTF-16 without a BOM
        raise fail(filename, "is UTF-16 or UTF-32 encoded; save it as UTF-8" if wide else
                   "is binary data, not a text file (it contains NUL bytes)", raw[:nul].count(b"\n") + 1)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise fail(filename, f"is not UTF-8 text (byte 0x{raw[err.start]:02x} cannot be decoded)",
                   raw[: err.start].count(b"\n") + 1) from None


def looks_like_json(text: str) -> bool:
    return text.lstrip()[:1] in ("{", "[")


def load_json(text: str, filename: str) -> tuple[Any, Mapping[Path, int]]:
    """JSON data and a lazy map key path -> line (found when a message needs one)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise fail(filename, f"not valid JSON: {err.msg}", err.lineno) from None
    except RecursionError:
        raise fail(filename, "is nested too deep to be a Kubernetes export") from None
    except ValueError:  # an integer of more digits than Python converts (sys.get_int_max_str_digits)
        long = re.search(r"\d{%d,}" % (sys.get_int_max_str_digits() + 1), text)
        raise fail(filename, "not valid JSON: a number of more digits than any quantity has",
                   text.count("\n", 0, long.start()) + 1 if long else None) from None
    return data, JsonLines(text)


def load_structured(text: str, filename: str, expected: str) -> tuple[Any, Mapping[Path, int]]:
    """One JSON or YAML document: its data and key path -> line. JSON is read by a JSON parser
    (YAML 1.1 does not read every JSON escape), anything else by :func:`.yamlsafe.load_yaml`.
    ``expected`` says what the file should hold, for an empty one."""
    if looks_like_json(text):
        return load_json(text, filename)
    try:
        doc = load_yaml(text)
    except YamlEmpty:
        raise fail(filename, f"is empty; expected {expected}") from None
    except YamlTooLarge as err:
        raise fail(filename, f"{err.message}; as JSON (kubectl's -o json) it is read without that limit",
                   err.line) from None
    except YamlFatal as err:
        raise fail(filename, err.message, err.line) from None
    if doc.problems:  # a tag or a duplicate key: the value kchaos would read is not the one meant
        raise KchaosUsageError([Problem(filename, line, format_path(path), message)
                                for path, line, message in doc.problems])
    return doc.data, doc.lines


_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class JsonLines(Mapping):
    """Key path -> line of a JSON text, found on demand: the walk descends along the path and
    skips siblings with the C decoder, so a message about one node of a 200 MB export does not
    tokenise the whole file. Positions found are cached."""

    def __init__(self, text: str):
        self.text = text
        self.found: dict[Path, int | None] = {}
        #: per list, the furthest item reached and where it starts: items asked in order cost one pass
        self.cursor: dict[Path, tuple[int, int]] = {}

    def _ws(self, i: int) -> int:
        return _WS.match(self.text, i).end()

    def _start(self, path: Path) -> int | None:
        """The offset where the value at ``path`` starts, or None."""
        if path in self.found:
            return self.found[path]
        if not path:
            pos: int | None = self._ws(0)
        else:
            parent = self._start(path[:-1])
            pos = None if parent is None else self._child(path[:-1], parent, path[-1])
        self.found[path] = pos
        return pos

    def _child(self, parent: Path, i: int, part: Any) -> int | None:
        s = self.text
        try:
            if isinstance(part, str) and s[i] == "{":
                i = self._ws(i + 1)
                while s[i] == '"':
                    key, i = scanstring(s, i + 1)
                    i = self._ws(self._ws(i) + 1)  # past the colon
                    if key == part:
                        return i
                    i = self._ws(_DECODER.raw_decode(s, i)[1])
                    if s[i] == ",":
                        i = self._ws(i + 1)
                return None
            if isinstance(part, int) and s[i] == "[":
                k, i = self.cursor.get(parent, (0, self._ws(i + 1)))
                if k > part:
                    k, i = 0, self._ws(self.found[parent] + 1)
                while k < part:
                    if s[i] == "]":
                        return None
                    i = self._ws(_DECODER.raw_decode(s, i)[1])
                    if s[i] == ",":
                        i = self._ws(i + 1)
                    k += 1
                self.cursor[parent] = (k, i)
                return None if s[i] == "]" else i
        except (IndexError, ValueError, RecursionError):
            return None
        return None

    def __getitem__(self, path: Path) -> int:
        pos = self._start(tuple(path))
        if pos is None:
            raise KeyError(path)
        return self.text.count("\n", 0, pos) + 1

    def __iter__(self) -> Iterator[Path]:
        return iter(())

    def __len__(self) -> int:
        return 0


class Budget:
    """Bytes and files left for one command's inputs (manifests of several files and folders)."""

    def __init__(self, max_bytes: int = MAX_EXPORT_BYTES, max_files: int = MAX_FILES, what: str = "manifests"):
        self.bytes_left = max_bytes
        self.max_bytes = max_bytes
        self.files_left = max_files
        self.max_files = max_files
        self.what = what

    def read_text(self, filename: str) -> str:
        self.files_left -= 1
        if self.files_left < 0:
            raise fail(filename, f"more than {self.max_files} files of {self.what}; kchaos reads at most that many")
        raw = read_bytes(filename, self.bytes_left, f"the {self.what} together are larger than "
                                                    f"{_size(self.max_bytes)}, the limit of one command")
        self.bytes_left -= len(raw)
        return decode(raw, filename)
