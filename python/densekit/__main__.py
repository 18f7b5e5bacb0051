"""`python -m densekit ...`: the same command line as the `densekit` console script."""

import sys

from .cli import main

sys.exit(main())
