"""System metrics: the kernel's process tree, the host, disks, network and GPUs.

:class:`Sampler` takes one sample (a flat ``{name: float}``) per call;
:class:`Window` averages samples into the records written to ``system.log``.
GPU metrics come from NVML (``pynvml``, from nvidia-ml-py) when it loads and
finds devices, and are simply absent otherwise.
"""

from __future__ import annotations

import os
import time
from typing import Any

import psutil

__all__ = ["Sampler", "Window", "Gpus"]

_MB = 1024.0 * 1024.0
#: Seconds below which a CPU share is not computed: CPU times come in 10 ms ticks, so a few
#: milliseconds' interval gives figures like 500 % of one core for an idle kernel.
MIN_CPU_INTERVAL = 0.1


class Gpus:
    """Per-GPU metrics through NVML; no devices and no error when NVML is absent."""

    def __init__(self) -> None:
        self.nvml: Any = None
        self.handles: list[Any] = []
        try:
            import pynvml  # nvidia-ml-py

            pynvml.nvmlInit()
            count = pynvml.nvmlDeviceGetCount()
            self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            self.nvml = pynvml
        except Exception:  # noqa: BLE001 - no library, no driver, no device: no GPU metrics
            self.nvml = None
            self.handles = []

    def sample(self, out: dict[str, float]) -> None:
        nvml = self.nvml
        if nvml is None:
            return
        for index, handle in enumerate(self.handles):
            self._sample_one(nvml, index, handle, out)

    @staticmethod
    def _sample_one(nvml: Any, index: int, handle: Any, out: dict[str, float]) -> None:
        prefix = f"gpu/{index}/"
        _try(out, prefix + "util_percent", lambda: nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
        info = _call(lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
        if info is not None and getattr(info, "total", 0):
            out[prefix + "memory_used_mb"] = float(info.used) / _MB
            out[prefix + "memory_percent"] = 100.0 * float(info.used) / float(info.total)
        sensor = getattr(nvml, "NVML_TEMPERATURE_GPU", 0)
        _try(out, prefix + "temp_c", lambda: nvml.nvmlDeviceGetTemperature(handle, sensor))
        _try(out, prefix + "power_w", lambda: nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0)

    def close(self) -> None:
        if self.nvml is not None:
            _call(self.nvml.nvmlShutdown)


def _call(fn: Any) -> Any:
    try:
        return fn()
    except Exception:  # noqa: BLE001 - one metric failing must not lose the others
        return None


def _try(out: dict[str, float], key: str, fn: Any) -> None:
    value = _call(fn)
    if value is not None:
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            pass


class Sampler:
    """Takes samples of the kernel's process tree and of the machine.

    Parameters
    ----------
    pid
        The kernel's pid; CPU and RSS are summed over it and its descendants.
    disk_path
        A path on the disk whose usage is reported (the run directory).
    exclude
        Pids left out of the process tree (the service itself).
    """

    def __init__(self, pid: int, disk_path: str, exclude: set[int] | None = None) -> None:
        self.pid = pid
        self.disk_path = disk_path
        self.exclude = set(exclude or ()) | {os.getpid()}
        self._procs: dict[int, psutil.Process] = {}
        self._cpu_seen: dict[int, tuple[float, float]] = {}  # pid: (CPU seconds, when)
        self._cores = psutil.cpu_count() or 1
        self.gpus = Gpus()
        psutil.cpu_percent(interval=None)  # prime: the first call has no interval
        self._last_time = time.monotonic()
        self._disk = _counters(psutil.disk_io_counters)
        self._net = _counters(psutil.net_io_counters)
        now = self.started = time.monotonic()
        for proc in self._tree():  # the CPU readings the first interval is measured from
            try:
                self._cpu_percent(proc, now)
            except psutil.Error:
                pass

    def _tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.pid)
            members = [root, *root.children(recursive=True)]
        except psutil.Error:
            return []
        alive: dict[int, psutil.Process] = {}
        for proc in members:
            if proc.pid in self.exclude:
                continue
            alive[proc.pid] = self._procs.get(proc.pid, proc)
        self._procs = alive
        return list(alive.values())

    def _cpu_percent(self, proc: psutil.Process, now: float) -> float | None:
        """CPU of ``proc`` since it was last seen, in % of one core; ``None`` the first time,
        or when that was too short a time ago for the OS's tick-grained CPU times to mean much."""
        times = proc.cpu_times()
        used = times.user + times.system
        last = self._cpu_seen.get(proc.pid)
        if last is not None and now - last[1] < MIN_CPU_INTERVAL:
            return None  # keep the older reading: the next interval is measured from it
        self._cpu_seen[proc.pid] = (used, now)
        if last is None:
            return None
        return max(used - last[0], 0.0) / (now - last[1]) * 100.0

    def sample(self) -> dict[str, float]:
        out: dict[str, float] = {}
        now = time.monotonic()
        elapsed = max(now - self._last_time, 1e-6)
        self._last_time = now
        cpu = rss = threads = 0.0
        measured = False
        for proc in self._tree():
            try:
                with proc.oneshot():
                    share = self._cpu_percent(proc, now)
                    rss += proc.memory_info().rss
                    threads += proc.num_threads()
            except psutil.Error:
                continue
            if share is not None:
                cpu += share
                measured = True
        self._cpu_seen = {pid: seen for pid, seen in self._cpu_seen.items() if pid in self._procs}
        if measured:  # no figure rather than a wrong one (a first sample, or one right after another)
            out["proc/cpu_percent"] = min(cpu, 100.0 * self._cores)
        out["proc/rss_mb"] = rss / _MB
        out["proc/threads"] = threads
        host_cpu = psutil.cpu_percent(interval=None)
        if elapsed >= MIN_CPU_INTERVAL:
            out["host/cpu_percent"] = host_cpu
        memory = psutil.virtual_memory()
        out["host/memory_percent"] = memory.percent
        out["host/memory_used_mb"] = (memory.total - memory.available) / _MB
        out["host/memory_available_mb"] = memory.available / _MB
        try:
            usage = psutil.disk_usage(self.disk_path)
            out["disk/percent"] = usage.percent
            out["disk/used_gb"] = usage.used / (_MB * 1024.0)
        except OSError:
            pass
        disk = _counters(psutil.disk_io_counters)
        if disk is not None and self._disk is not None:
            out["disk/read_mb_s"] = max(disk.read_bytes - self._disk.read_bytes, 0) / _MB / elapsed
            out["disk/write_mb_s"] = max(disk.write_bytes - self._disk.write_bytes, 0) / _MB / elapsed
        self._disk = disk
        net = _counters(psutil.net_io_counters)
        if net is not None and self._net is not None:
            out["net/sent_mb_s"] = max(net.bytes_sent - self._net.bytes_sent, 0) / _MB / elapsed
            out["net/recv_mb_s"] = max(net.bytes_recv - self._net.bytes_recv, 0) / _MB / elapsed
        self._net = net
        self.gpus.sample(out)
        return out


def _counters(fn: Any) -> Any:
    try:
        return fn()
    except Exception:  # noqa: BLE001 - some containers have no counters
        return None


class Window:
    """Averages samples over a time window."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}
        self.samples = 0

    def add(self, sample: dict[str, float]) -> None:
        self.samples += 1
        for key, value in sample.items():
            if value == value:  # skip NaN
                self._sums[key] = self._sums.get(key, 0.0) + value
                self._counts[key] = self._counts.get(key, 0) + 1

    def due(self) -> bool:
        return time.monotonic() - self.started >= self.seconds

    def take(self) -> dict[str, float] | None:
        """The means so far (``None`` when empty), and start a new window."""
        if not self.samples:
            self.started = time.monotonic()
            return None
        means = {key: self._sums[key] / self._counts[key] for key in self._sums}
        means["_samples"] = float(self.samples)
        means["_window_s"] = round(time.monotonic() - self.started, 3)
        self._sums, self._counts, self.samples = {}, {}, 0
        self.started = time.monotonic()
        return means
