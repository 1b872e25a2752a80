"""The `kchaos` command's first lines (and `python -m kchaos`'s): Ctrl-C while Python loads
kchaos ends it quietly with exit code 130, before the command's own handling
(:mod:`kchaos.interrupts`) takes over."""

import os
import signal
import sys


def _quiet_exit(signum, frame) -> None:
    try:
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(130)


def entry() -> None:
    signal.signal(signal.SIGINT, _quiet_exit)
    from .cli import entry as run_command

    run_command()
