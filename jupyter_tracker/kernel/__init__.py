"""The training process's side of the tracker (the Jupyter kernel or a script).

``Run`` (the hot path ``log()``), ``init()`` and the current run, the writer
thread of the events log, ``%tracker``, saved files, code capture, the user's
messages, and the handle on the run's service process. Nothing here is imported
by the service, the server or the lab server: they read what this writes.
"""
