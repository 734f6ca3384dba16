"""Rich values: images, histograms and tables, from ``log()`` to files, the Api and the panel.

``values`` (what users log and its checks), ``encoding`` (PNG through Pillow),
``storage`` (files and references in the run directory), ``rows`` (the hot
path's and the writer's halves), ``reading`` (references back to pixels,
counts and tables). Shared by every process; imported only when media is used.
"""
