"""`python -m lab ...` is the `lab` command."""

import sys

from lab.front.cli import main

sys.exit(main())
