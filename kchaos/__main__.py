"""`python -m kchaos`: the same as the `kchaos` command."""

from .cli import entry

entry()
