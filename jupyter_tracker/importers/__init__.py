"""Importers: runs of other tools as ordinary run directories, and runs back out as tables.

- :mod:`.tensorboard`: TensorBoard event files, read with TensorBoard's own reader;
- :mod:`.wandb_runs`: wandb ``offline-run-*`` and ``run-*`` folders, records decoded
  with wandb's own schema;
- :mod:`.csvfile`: a CSV table with a step column;
- :mod:`.export`: a run's history as CSV or Parquet.

Each importer reads its source into an :class:`~.rundirs.Imported` (records with the
source's own steps and wall times); :func:`.rundirs.write_run` writes it through the
shared core (``records`` frames, ``rundir`` JSON files), so ``tracker sync``
uploads it like any other run. The ``tracker import`` and ``tracker export``
commands are in :mod:`.commands`. See ``docs/integrations.md``.
"""

from __future__ import annotations

__all__ = ["MissingExtra"]


class MissingExtra(ImportError):
    """A package an importer needs is not installed; the message names the extra that brings it."""

    def __init__(self, what: str, extra: str, package: str) -> None:
        super().__init__(f"{what} needs {package}: pip install 'jupyter-tracker[{extra}]' (or pip install {package})")
        self.extra = extra
