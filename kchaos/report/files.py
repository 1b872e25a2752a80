"""Writing result files atomically: a reader never sees a half-written report."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path


def _clean(value):
    """JSON has no NaN or infinity: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def to_json(document) -> str:
    return json.dumps(_clean(document), indent=2, allow_nan=False) + "\n"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_report(out_dir: Path, results: dict, html: str, json_name: str = "results.json") -> tuple[Path, Path]:
    """Write ``results.json`` (or ``json_name``) and ``index.html`` into ``out_dir``."""
    json_path, html_path = out_dir / json_name, out_dir / "index.html"
    write_atomic(json_path, to_json(results))
    write_atomic(html_path, html)
    return json_path, html_path
