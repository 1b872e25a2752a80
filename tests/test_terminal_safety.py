"""The terminal shows user text as text: no markup or emoji codes read into it, and no
control sequence of a file (window title, clear screen, OSC 52 clipboard) reaches it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kchaos.cli import main
from kchaos.console import safe_text, terminal

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "topologies" / "three-workers.yaml"
#: What a terminal would act on: ESC, BEL, CSI/OSC in their 8-bit forms, bidi overrides.
LIVE = re.compile("[\x07\x1b\x9b\x9d\u202e]")
HOSTILE = r"title\e]0;PWNED\a clear\e[2J\e[H clip\e]52;c;cm0gLXJmIH4=\a \u202e \x9b31m :fire: [bold]x[/bold]"


def _with_description(tmp_path, description: str) -> Path:
    text = EXAMPLE.read_text().replace("description: Three 10-cpu workers, each 60% full",
                                       f'description: "{description}"')
    path = tmp_path / "t.yaml"
    path.write_text(text)
    return path


def test_a_description_cannot_drive_the_terminal(tmp_path, capsys):
    path = _with_description(tmp_path, HOSTILE)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert not LIVE.search(out)
    assert "\\x1b]0;PWNED" in out and ":fire:" in out and "[bold]x[/bold]" in out
    assert main(["run", str(path), "-n", "50", "-o", str(tmp_path / "r")]) == 0
    assert not LIVE.search(capsys.readouterr().out)


def test_locations_and_values_are_printed_as_written(tmp_path, capsys):
    text = EXAMPLE.read_text()
    lines = text.count("\n")
    (tmp_path / "t.yaml").write_text(text + "\n" * (99 - lines) + "capcity: 1\n")
    assert main(["validate", str(tmp_path / "t.yaml")]) == 2
    err = capsys.readouterr().err
    assert "t.yaml:100: capcity:" in err and "💯" not in err
    (tmp_path / "n.yaml").write_text(text.replace("name: three-workers", "name: a:fire:b/c"))
    assert main(["validate", str(tmp_path / "n.yaml")]) == 2
    err = capsys.readouterr().err
    assert "got 'a:fire:b/c'" in err and "🔥" not in err


def test_a_file_name_with_escapes_is_shown_escaped(tmp_path, capsys):
    path = tmp_path / "x\x1b]0;t\x07.yaml"
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and not LIVE.search(err) and "\\x1b]0;t" in err


def test_click_errors_go_through_the_same_printer(capsys):
    assert main(["run", str(EXAMPLE), "--seed", "\x1b]0;x\x07"]) == 2
    err = capsys.readouterr().err
    assert "--seed" in err and not LIVE.search(err)


def test_many_problems_are_capped(tmp_path, capsys):
    import json

    path = tmp_path / "nodes.json"
    bad = [{"kind": "Node", "metadata": {"name": f"n{i}"}, "status": {"allocatable": {"cpu": "x", "memory": "1Gi"}}}
           for i in range(250)]
    path.write_text(json.dumps({"kind": "List", "items": bad}))
    assert main(["import", "--nodes", str(path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 101 and lines[-1] == "error: ... and 150 more problems"


@pytest.mark.parametrize("text,shown", [("a\x1bb", "a\\x1bb"), ("\x9b", "\\x9b"), ("\u202e", "\\u202e"),
                                        ("tab\tnew\nline", "tab\tnew\nline"), ("😀 ok", "😀 ok")])
def test_safe_text(text, shown):
    assert safe_text(text) == shown


def test_rich_styles_still_work():
    console = terminal(force_terminal=True, width=40, color_system="standard")
    with console.capture() as cap:
        console.print("[red]x[/red] :fire:")
    assert "\x1b[31m" in cap.get() and ":fire:" in cap.get()
