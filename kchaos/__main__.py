"""`python -m kchaos`: the same as the `kchaos` command."""

from .launch import entry

entry()
