"""The user-facing errors. The CLI catches exactly these and maps them to exit codes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where, which key, what and what is expected."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class KchaosUsageError(Exception):
    """Bad usage or bad input: exit code 2, one line per problem, no traceback."""

    def __init__(self, problems: list[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem(file="kchaos", line=None, path="", message=problems)]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class TopologyError(KchaosUsageError):
    """An invalid topology file: every problem found, each with file:line: path."""
