"""TensorBoard event files as runs: ``tracker import tensorboard LOGDIR``.

Each folder under ``LOGDIR`` that holds event files is one run (TensorBoard's own
notion of a run), read with TensorBoard's own reader
(``tensorboard.backend.event_processing.plugin_event_accumulator``, every event
kept, orphaned data after a restart purged as TensorBoard does):

- scalar summaries (``add_scalar``, ``tf.summary.scalar``) become history, each at
  its own step with its own wall time; tags logged at the same step share a row;
- the hyperparameters of the ``hparams`` plugin (``add_hparams``) become the config;
- histograms and images become media records, as ``tracker.Histogram`` and
  ``tracker.Image`` make them (images as PNG files under ``files/media/images``);
- text and other plugins are counted as skipped.

The run's id is derived from the absolute path of its folder, its name is that
folder relative to ``LOGDIR``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from .. import records
from . import MissingExtra
from .media import tensorboard_histogram, tensorboard_images
from .rundirs import Imported, RowBuilder, stable_id

__all__ = ["read_logdir", "read_run", "run_folders"]



def _tensorboard() -> Any:
    try:
        from tensorboard.backend.event_processing import io_wrapper, plugin_event_accumulator
        from tensorboard.util import tensor_util
    except ImportError:
        raise MissingExtra("tracker import tensorboard", "tensorboard", "tensorboard") from None
    return io_wrapper, plugin_event_accumulator, tensor_util


def run_folders(logdir: str | os.PathLike) -> list[Path]:
    """The folders under ``logdir`` (itself included) that hold event files, sorted."""
    io_wrapper, _, _ = _tensorboard()
    logdir = Path(logdir).resolve()
    if not logdir.is_dir():
        raise FileNotFoundError(f"{logdir}: no such folder (tracker import tensorboard takes a log folder)")
    return sorted(Path(p) for p in io_wrapper.GetLogdirSubdirectories(str(logdir)))


def read_logdir(logdir: str | os.PathLike, project: str | None = None) -> list[Imported]:
    """Every run under ``logdir``."""
    logdir = Path(logdir).resolve()
    return [read_run(folder, logdir, project) for folder in run_folders(logdir)]


def _fingerprint(folder: Path, project: str) -> str:
    parts = [project]
    for entry in sorted(folder.iterdir()):
        if entry.is_file() and "tfevents" in entry.name:
            parts.append(f"{entry.name}:{entry.stat().st_size}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _host(folder: Path) -> str | None:
    """The host in an event file's name: ``events.out.tfevents.<time>.<host>[.<pid>.<n>]``."""
    for entry in sorted(folder.iterdir()):
        parts = entry.name.split(".")
        if entry.name.startswith("events.out.tfevents.") and len(parts) > 4:
            rest = parts[4:]
            while len(rest) > 1 and rest[-1].isdigit():
                rest.pop()
            return ".".join(rest) or None
    return None


def _hparams(accumulator: Any, imported: Imported) -> dict[str, Any]:
    try:
        content = accumulator.PluginTagToContent("hparams")
    except KeyError:
        return {}
    from google.protobuf import json_format
    from tensorboard.plugins.hparams import metadata

    config: dict[str, Any] = {}
    for tag, blob in content.items():
        if not tag.endswith("session_start_info"):
            continue
        try:
            info = metadata.parse_session_start_info_plugin_data(blob)
        except Exception:  # noqa: BLE001 - a plugin version this tensorboard cannot read
            imported.skip("hparams records that TensorBoard could not read")
            continue
        config.update({key: json_format.MessageToDict(value) for key, value in info.hparams.items()})
    return config


def _media(rows: RowBuilder, imported: Imported, plugin: str, tag: str, event: Any, tensor_util: Any) -> None:
    """One histogram or image event as a media reference of ``tag`` at its step."""
    step = int(event.step)
    try:
        array = tensor_util.make_ndarray(event.tensor_proto)
    except (ValueError, TypeError):
        array = None
    if plugin == "histograms":
        reference = tensorboard_histogram(array) if array is not None else None
    else:
        reference, files = tensorboard_images(tag, step, list(array.reshape(-1))) if array is not None else (None, {})
        imported.media_files.update(files)
    if reference is None:
        imported.skip(f"{plugin[:-1]} events that could not be read")
        return
    rows.add_media(step, float(event.wall_time), tag, reference)


def read_run(folder: Path, logdir: Path, project: str | None = None) -> Imported:
    """One run folder, read whole with TensorBoard's accumulator."""
    _, accumulators, tensor_util = _tensorboard()
    folder = Path(folder).resolve()
    accumulator = accumulators.EventAccumulator(str(folder), size_guidance={accumulators.TENSORS: 0})
    accumulator.Reload()
    relative = os.path.relpath(folder, logdir)
    project = project or os.environ.get("TRACKER_PROJECT") or "uncategorized"
    try:
        first = float(accumulator.FirstEventTimestamp())
    except ValueError:  # no event at all
        first = folder.stat().st_mtime
    imported = Imported(
        source="tensorboard", path=str(folder), run_id=stable_id("tensorboard", str(folder)), project=project,
        name=logdir.name if relative == "." else relative, created_at=first, finished_at=first,
        fingerprint=_fingerprint(folder, project), info={"host": _host(folder)},
    )
    rows = RowBuilder(imported)
    last = first
    for tag in accumulator.Tags().get(accumulators.TENSORS, []):
        plugin = accumulator.SummaryMetadata(tag).plugin_data.plugin_name
        if plugin in ("histograms", "images"):
            for event in accumulator.Tensors(tag):
                _media(rows, imported, plugin, tag, event, tensor_util)
                last = max(last, float(event.wall_time))
            continue
        if plugin != "scalars":
            if plugin != "hparams":
                imported.skip(f"series of TensorBoard's {plugin or 'unknown'} plugin")
            continue
        for event in accumulator.Tensors(tag):
            try:
                value = tensor_util.make_ndarray(event.tensor_proto).item()
            except (ValueError, TypeError):
                imported.skip("scalar events that do not hold one number")
                continue
            rows.add(int(event.step), float(event.wall_time), tag, value)
            last = max(last, float(event.wall_time))
    config = _hparams(accumulator, imported)
    if config:
        imported.body.append([records.CONFIG, first, config])
    imported.body += rows.records()
    imported.finished_at = last
    return imported
