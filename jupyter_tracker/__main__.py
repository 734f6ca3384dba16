"""``python -m jupyter_tracker``: the ``tracker`` command."""

import sys

from .cli import main

sys.exit(main())
