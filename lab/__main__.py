"""`python -m lab ...` is the `lab` command."""

import sys

from lab.signals import SIGS

SIGS.install()  # before anything else is imported: from here on a signal is an orderly exit

from lab.front.cli import main  # noqa: E402

sys.exit(main())
