"""``tracker``: the short name of ``jupyter_tracker``.

``import tracker`` and ``%load_ext tracker`` give the very same module object as
``import jupyter_tracker``, so both names share one current run.
"""

import sys

import jupyter_tracker

sys.modules[__name__] = jupyter_tracker
