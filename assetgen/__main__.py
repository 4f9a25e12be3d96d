"""`python -m assetgen ...`: the same as the `assetgen` command."""

import sys

from .cli import main

sys.exit(main())
