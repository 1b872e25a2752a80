"""Where an imported value came from, so that a problem with it is told against the user's
file and line (``nodes.json:40: items[3].status.allocatable.cpu``), never against the
topology kchaos writes from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import Problem
from ..topology.checker import format_path
from ..topology.yaml_writer import to_yaml


@dataclass(frozen=True)
class Origin:
    """A file, its key path -> line map, and a key path in it."""

    file: str
    lines: Mapping = field(default_factory=dict, compare=False, repr=False)
    path: tuple = ()

    def at(self, *keys: Any) -> Origin:
        return Origin(self.file, self.lines, self.path + keys)

    @property
    def line(self) -> int | None:
        """The line of the key path, else of its nearest ancestor with one."""
        for n in range(len(self.path), -1, -1):
            line = self.lines.get(self.path[:n])
            if line is not None:
                return line
        return None

    def problem(self, message: str) -> Problem:
        return Problem(self.file, self.line, format_path(self.path), message)


def blame(problems: list[Problem], origins: Mapping[tuple, Origin], fallback: str,
          keep_unmatched: bool = False) -> list[Problem]:
    """Problems found in a topology written from imported data, each told against the origin
    of the longest key path of the written topology that has one (``origins``: written key
    path -> origin); any other against ``fallback`` (the first input), or as it was with
    ``keep_unmatched`` (a topology file of the user's, some values from manifests)."""
    by_text = {format_path(path): origin for path, origin in origins.items()}
    out = []
    for p in problems:
        written = p.path
        origin = None
        cut = written
        while cut:
            origin = by_text.get(cut)
            if origin is not None:
                break
            cut = cut[:max(cut.rfind("."), cut.rfind("["), 0)]
        where = f" (as {written} of the topology)" if written else " (in the imported topology)"
        if origin is None and keep_unmatched:
            out.append(p)
        elif origin is None:
            out.append(Problem(fallback, None, "", p.message + where))
        else:
            message = p.message.removesuffix(" (value set by an override)")
            out.append(Problem(origin.file, origin.line, format_path(origin.path), message + where))
    return out


@dataclass
class Document:
    """A topology to write: its data (values wrapped in :class:`~kchaos.topology.yaml_writer.Note`
    where a comment goes with them), header and footer comment lines, and the origin of the
    values taken from the user's files (written key path -> :class:`Origin`)."""

    data: dict
    header: list[str] = field(default_factory=list)
    footer: list[str] = field(default_factory=list)
    origins: dict[tuple, Origin] = field(default_factory=dict)

    def text(self) -> str:
        return to_yaml(self.data, self.header, self.footer)
