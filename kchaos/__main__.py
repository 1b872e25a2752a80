"""`python -m kchaos`: the same as the `kchaos` command."""

import sys

from .cli import main

sys.exit(main())
