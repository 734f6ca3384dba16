"""``python -m jupyter_tracker.server``: the tracker server."""

import sys

from .commands import main

sys.exit(main())
