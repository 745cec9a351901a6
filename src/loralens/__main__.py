"""`python -m loralens` runs the CLI."""

import sys

from loralens.cli import main

sys.exit(main())
