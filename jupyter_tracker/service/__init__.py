"""The service process: one per run, outside the kernel.

It samples system metrics into ``system.log``, watches the kernel's pid (a
kernel that dies without finishing makes the run ``crashed``), and is where
syncing to a tracking server lives. ``handle`` is the kernel's side of it:
start it without delaying ``init()``, notice when it stops, stop it at finish.
Run it by hand with ``python -m jupyter_tracker.service RUN_DIR --pid PID``.
"""
