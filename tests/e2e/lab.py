"""A real JupyterLab in headless Chromium, for browser tests (see test_lab.py).

    with Lab() as lab:                                  # server: 127.0.0.1, free port, token
        with lab.open(nb, kernel_env={...}) as page:    # Chromium + Playwright, kernel started
            res = page.run_all(selectors=[".tracker-panel"])
            page.screenshot("panel", ".tracker-panel")  # -> artifacts dir
        res.cells[0].texts, res.live_counts(cell=1), res.widget_errors, res.external_requests

Isolation: everything lives in one temp root (Jupyter config/data/runtime dirs, IPYTHONDIR,
lab settings and workspaces, the notebooks, Chromium's profile). Lab settings are seeded (no
news or update popups, ``windowingMode: none`` so every cell is in the DOM, no autosave). The
only kernelspec offered runs the Python that runs pytest. Inherited ``TRACKER_*`` variables are
dropped: pass what the kernel needs with ``env`` (server) or ``kernel_env`` (one notebook; it
goes into the kernelspec's ``env``, read at each kernel start). Requests that leave
127.0.0.1/localhost are blocked (DNS and ``context.route``) and recorded.

Cleanup is by pid only: the kernel of each notebook when its page closes, the server (its own
process group) when the Lab closes, then every process whose command line names the temp root
or whose environment carries its marker (Chromium, kernels, daemons a kernel spawned). It runs
on exceptions, KeyboardInterrupt, and at interpreter exit for a Lab that was never closed.

One notebook page at a time per Lab (the kernelspec env and page config are per open).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import pytest

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
KERNEL_NAME = "tracker-e2e"
MARKER = "TRACKER_E2E_ROOT"  # set for the server, kernels and Chromium: every descendant inherits it
RUN_MARKER = "TRACKER_E2E_RUN"  # set for one notebook's kernel (and what it spawns)
WIDGETS_PLUGIN = "@jupyter-widgets/jupyterlab-manager:plugin"
#: The lab extension as `pip install` builds it in this checkout (labextension/ -> here).
LABEXTENSION = ROOT / "jupyter_tracker" / "labextension"
LABEXTENSION_NAME = "jupyter-tracker"
SERVER_EXTENSION = "jupyter_tracker.labserver"

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
    # every non-loopback name is unresolvable; attempts still show up as requests
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]
# any http(s)/ws(s) URL whose host is not loopback (JS regex: matched in Playwright's driver)
EXTERNAL_URL = re.compile(
    r"^(?!(?:https?|wss?)://(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?(?:[/?#]|$))[a-z][a-z0-9+.-]*://")
LOCAL_SCHEMES = ("data:", "blob:", "about:", "chrome:", "chrome-extension:", "devtools:")

USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings":
        {"autoStartDefaultKernel": True, "windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
PLACEHOLDER_RE = re.compile(r"Loading widget|Error displaying widget|Failed to load model|"
                            r"Click to show javascript error")
WIDGET_CONSOLE_RE = re.compile(r"not registered|not found in registry|Failed to load (?:model|view|widget|"
                               r"module|class)|Could not create (?:a )?(?:model|view)|Class \S+ not found|"
                               r"Error displaying widget|Error creating widget")


# --------------------------------------------------------------------------- availability

def chromium_path() -> str | None:
    """TRACKER_TEST_CHROMIUM if set (even when it does not exist), else chromium on PATH."""
    if "TRACKER_TEST_CHROMIUM" in os.environ:
        return os.environ["TRACKER_TEST_CHROMIUM"]
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def browser_or_skip() -> str:
    """Chromium's path; otherwise skip the test, or fail it when CI is set (CI must not skip)."""
    problems = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        problems.append(f"the playwright package is missing ({exc}); pip install playwright")
    chromium = chromium_path()
    if not chromium:
        problems.append("no chromium on PATH (apt-get install chromium, or set TRACKER_TEST_CHROMIUM)")
    elif not (os.path.isfile(chromium) and os.access(chromium, os.X_OK)):
        problems.append(f"chromium {chromium!r} is not an executable file (TRACKER_TEST_CHROMIUM?)")
    if problems:
        reason = "browser tests need a browser: " + "; ".join(problems)
        if IN_CI:
            pytest.fail(reason + " [CI is set: not skipping]", pytrace=False)
        pytest.skip(reason)
    return chromium  # type: ignore[return-value]


def labextension_or_fail() -> Path:
    """The checkout's built lab extension; a test that needs it fails (never skips) without it."""
    if not (LABEXTENSION / "package.json").is_file() or not (LABEXTENSION / "static").is_dir():
        pytest.fail(f"the lab extension is not built in {LABEXTENSION}: run `pip install -e .` (Node >= 20 and npm "
                    "needed) or `npm install && npm run build` in labextension/", pytrace=False)
    return LABEXTENSION


def artifacts_dir() -> Path:
    path = Path(os.environ.get("TRACKER_TEST_ARTIFACTS") or ROOT / "tests" / "e2e" / "artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_external(url: str) -> bool:
    return not url.startswith(LOCAL_SCHEMES) and bool(EXTERNAL_URL.match(url))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


# --------------------------------------------------------------------------- processes

def _psutil():
    import psutil

    return psutil


def _alive(proc) -> bool:
    psutil = _psutil()
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _marked(cmd_part: str | None = None, env: tuple[str, str] | None = None) -> list:
    """Processes (not this one) whose command line contains ``cmd_part`` or whose environment
    has ``env`` = (key, value)."""
    psutil = _psutil()
    found = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        if p.pid == os.getpid():
            continue
        try:
            if cmd_part and any(cmd_part in c for c in (p.info["cmdline"] or [])):
                found.append(p)
            elif env and p.environ().get(env[0]) == env[1]:
                found.append(p)
        except psutil.Error:
            pass
    return found


def _reap(procs: list, grace: float) -> list[str]:
    """Wait up to ``grace`` s for ``procs`` to end, then SIGKILL the rest (by pid); describe those."""
    psutil = _psutil()
    deadline = time.monotonic() + grace
    left = [p for p in procs if _alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = [p for p in left if _alive(p)]
    killed = []
    for p in left:
        try:
            killed.append(f"{p.pid}: {' '.join(p.cmdline())[:160]}")
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(left, timeout=3)
    return killed


class _Deferred:
    """Run every cleanup step even if one raises. Errors are noted in ``errors``; a
    KeyboardInterrupt (or SystemExit) is re-raised once every step has run."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        self.interrupt: BaseException | None = None

    def __call__(self, fn, *args):
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001
            self.errors.append(f"{getattr(fn, '__qualname__', fn)}: {type(exc).__name__}: {exc}"[:300])
        except BaseException as exc:  # noqa: BLE001
            self.interrupt = self.interrupt or exc
        return None

    def done(self):
        if self.interrupt is not None:
            raise self.interrupt


_LIVE_LABS: "weakref.WeakSet[Lab]" = weakref.WeakSet()


@atexit.register
def _close_forgotten_labs() -> None:
    for lab in list(_LIVE_LABS):
        try:
            lab.close()
        except BaseException:  # noqa: BLE001
            pass


# --------------------------------------------------------------------------- in-page JS

HELPERS_JS = r"""
async ({nbPath, lineSelector}) => {
  const app = window.jupyterapp;
  await app.restored;
  let panel = null;
  for (const w of app.shell.widgets('main'))
    if (w.context && w.context.path === nbPath && w.content && w.sessionContext) panel = w;
  if (!panel) return false;
  app.shell.activateById(panel.id);
  const NUM = /-?\d*\.?\d+(?:e[-+]?\d+)?/gi;
  const E = window.__e2e = {panel, samples: [], timer: null, runDone: false, runError: null};
  E.codeCells = () => panel.content.widgets.filter(c => c.model.type === 'code');
  E.prompts = () => E.codeCells().map(c => {
    const p = c.node.querySelector('.jp-InputPrompt');
    return p ? p.textContent.trim() : '';
  });
  E.lines = () => Array.from(panel.node.querySelectorAll(lineSelector))
    .map(p => Math.floor(((p.getAttribute('d') || '').match(NUM) || []).length / 2));
  E.kernel = () => {
    const s = panel.sessionContext, k = s.session && s.session.kernel;
    return {ready: s.isReady, status: k ? k.status : null, id: k ? k.id : null,
            name: k ? k.name : null, hasNoKernel: s.hasNoKernel};
  };
  E.sample = () => {
    const pr = E.prompts(), l = E.lines();
    return {t: Math.round(performance.now()), pts: l.length ? Math.max(...l) : null, lines: l.length,
            running: pr.findIndex(p => p.includes('*')), busy: pr.filter(p => p.includes('*')).length,
            kernel: E.kernel().status, outputs: panel.node.querySelectorAll('.jp-OutputArea-child').length};
  };
  E.start = (ms) => {
    const t0 = performance.now();
    E.timer = setInterval(() => { const s = E.sample(); s.t = Math.round(performance.now() - t0);
                                  E.samples.push(s); }, ms);
    app.commands.execute('notebook:run-all-cells').then(
      () => { E.runDone = true; }, (e) => { E.runDone = true; E.runError = String(e); });
  };
  return true;
}
"""

COLLECT_JS = r"""
(selectors) => {
  const E = window.__e2e, panel = E.panel;
  const cells = E.codeCells().map((cell, i) => {
    const model = [];
    for (let k = 0; k < cell.model.outputs.length; k++) {
      const o = cell.model.outputs.get(k).toJSON();
      model.push({type: o.output_type, mimes: o.data ? Object.keys(o.data) : [], name: o.name || null,
                  ename: o.ename || null, evalue: o.evalue ? String(o.evalue).slice(0, 500) : null});
    }
    const area = cell.outputArea ? cell.outputArea.node : null;
    const kids = area ? Array.from(area.children).filter(c => c.classList.contains('jp-OutputArea-child')) : [];
    const dom = kids.map(c => {
      const o = c.querySelector(':scope > .jp-OutputArea-output') || c;
      let mime = o.getAttribute('data-mime-type');
      const widget = o.classList.contains('jupyter-widgets') || !!o.querySelector('.jupyter-widgets');
      if (!mime && widget) mime = 'application/vnd.jupyter.widget-view+json';
      return {mime, widget, text: (o.textContent || '').slice(0, 20000)};
    });
    const p = cell.node.querySelector('.jp-InputPrompt');
    return {index: i, prompt: p ? p.textContent.trim() : '', source: cell.model.sharedModel.getSource(),
            model, dom, errorBoxes: area ? area.querySelectorAll('.jupyter-widgets-error-widget').length : 0,
            counts: Object.fromEntries(selectors.map(s => [s, area ? area.querySelectorAll(s).length : 0]))};
  });
  const counts = {}, texts = {};
  for (const s of selectors) {
    const els = Array.from(panel.node.querySelectorAll(s));
    counts[s] = els.length;
    texts[s] = els.slice(0, 20).map(e => (e.textContent || '').trim().slice(0, 2000));
  }
  return {cells, counts, texts, errorBoxes: document.querySelectorAll('.jupyter-widgets-error-widget').length,
          dialogs: Array.from(document.querySelectorAll('.jp-Dialog')).map(e => e.textContent.slice(0, 200))};
}
"""


# --------------------------------------------------------------------------- results

@dataclass
class Output:
    mime: str | None  # data-mime-type of the rendered output (widget views: the widget mime)
    text: str  # its rendered textContent
    widget: bool  # contains a rendered .jupyter-widgets view


@dataclass
class Cell:
    index: int  # among code cells, 0-based
    prompt: str  # "[3]:", "[*]:", "[ ]:"
    source: str
    outputs: list[Output]  # as rendered in the DOM
    model_outputs: list[dict]  # output_type, mimes, name, ename, evalue
    counts: dict[str, int]  # matches of each selector inside this cell's output area
    error_boxes: int

    @property
    def n_outputs(self) -> int:
        return max(len(self.outputs), len(self.model_outputs))

    @property
    def texts(self) -> list[str]:
        return [o.text for o in self.outputs]

    @property
    def errors(self) -> list[str]:
        return [f"{o['ename']}: {o['evalue']}" for o in self.model_outputs if o["type"] == "error"]


@dataclass
class LabResult:
    cells: list[Cell]
    samples: list[dict]  # every ~50 ms: t (ms), pts, lines, running (code cell idx or -1), busy, kernel, outputs
    counts: dict[str, int]  # selector -> matches in the notebook
    texts: dict[str, list[str]]  # selector -> textContent of (up to 20) matches
    widget_errors: list[str]
    console_errors: list[str]  # console.error + uncaught page errors
    requests: list[str]  # every URL the page requested (http + websockets), token removed
    external_requests: list[str]  # those not to 127.0.0.1/localhost (blocked)
    kernel: dict  # id, name, pid, argv
    timings: dict[str, float] = field(default_factory=dict)
    run_error: str | None = None

    @property
    def cells_with_output(self) -> list[int]:
        return [c.index for c in self.cells if c.n_outputs]

    def cells_matching(self, selector: str) -> list[int]:
        return [c.index for c in self.cells if c.counts.get(selector)]

    def live_counts(self, cell: int | None = None) -> list[int]:
        """Distinct, strictly increasing point counts of the longest line, sampled while a cell
        showed [*] (or while code cell ``cell`` was the one running)."""
        out: list[int] = []
        for s in self.samples:
            busy = s["busy"] > 0 if cell is None else s["running"] == cell
            if busy and s["pts"] is not None and (not out or s["pts"] > out[-1]):
                out.append(s["pts"])
        return out

    @property
    def widget_console_errors(self) -> list[str]:
        return [m for m in self.console_errors if WIDGET_CONSOLE_RE.search(m)]

    def describe(self) -> str:
        """A compact account for assertion messages."""
        busy = [s for s in self.samples if s["busy"]]
        return json.dumps({
            "cells": [{"i": c.index, "prompt": c.prompt, "outputs": [(o.mime, o.text[:120]) for o in c.outputs],
                       "errors": c.errors} for c in self.cells],
            "counts": self.counts, "widget_errors": self.widget_errors[:5],
            "console_errors": self.console_errors[:5], "external": self.external_requests[:5],
            "samples": len(self.samples), "busy_samples": len(busy), "live_counts": self.live_counts()[:30],
            "timings": self.timings, "run_error": self.run_error}, indent=1, default=str)


# --------------------------------------------------------------------------- server

class Lab:
    """A JupyterLab server (``python -m jupyterlab``) in an isolated temp root."""

    def __init__(self, *, env: Mapping[str, str] | None = None, python: str = sys.executable,
                 chromium: str | None = None, viewport: tuple[int, int] = (1280, 1000),
                 start_timeout: float = 90, extension: bool = True):
        self.python = os.path.abspath(python)  # not realpath: a venv's python is a symlink
        self.chromium = chromium
        self.extra_env = dict(env or {})
        self.viewport = viewport
        self.start_timeout = start_timeout
        #: load this checkout's lab extension and server extension (as an installed package would)
        self.extension = extension
        self.root = ""
        self.port = 0
        self.token = secrets.token_hex(16)
        self.proc: subprocess.Popen | None = None
        self.timings: dict[str, float] = {}
        self.leftovers: list[str] = []  # processes cleanup had to SIGKILL
        self.cleanup_errors: list[str] = []
        self._log = None
        self._pw = None
        self._page: NotebookPage | None = None

    # --- lifecycle
    def __enter__(self) -> "Lab":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.chromium = self.chromium or browser_or_skip()
        t0 = time.monotonic()
        self.root = tempfile.mkdtemp(prefix="tracker-e2e-")
        _LIVE_LABS.add(self)
        r = Path(self.root)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("TRACKER_", "JUPYTER_", "JPY_")) and k not in ("IPYTHONDIR", "PYTHONHOME")}
        for key, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                         ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")):
            self.env[key] = str(r / sub)
            (r / sub).mkdir()
        self.env["JUPYTER_PLATFORM_DIRS"] = "1"
        self.env["PYTHONPATH"] = os.pathsep.join(
            dict.fromkeys([str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]))
        bindir = os.path.dirname(self.python)  # like an activated venv
        self.env["PATH"] = bindir + os.pathsep + self.env.get("PATH", "")
        self.env[MARKER] = self.root
        self.env.update(self.extra_env)
        self.nb_dir = r / "notebooks"
        self.nb_dir.mkdir()
        server_config: dict[str, Any] = {
            "KernelSpecManager": {"ensure_native_kernel": False, "allowed_kernelspecs": [KERNEL_NAME]},
            "MappingKernelManager": {"default_kernel_name": KERNEL_NAME}}
        if self.extension and (LABEXTENSION / "package.json").is_file():
            # the checkout's build, ahead of any installed copy (the data dir comes first in Jupyter's path)
            (r / "data" / "labextensions").mkdir(parents=True)
            os.symlink(LABEXTENSION, r / "data" / "labextensions" / LABEXTENSION_NAME)
            server_config["ServerApp"] = {"jpserver_extensions": {SERVER_EXTENSION: True}}
        elif self.extension:
            server_config["ServerApp"] = {"jpserver_extensions": {SERVER_EXTENSION: True}}
        _write_json(r / "config" / "jupyter_server_config.json", server_config)
        self._write_kernelspec({})
        self._write_page_config(())
        for rel, value in USER_SETTINGS.items():
            _write_json(r / "settings" / rel, value)
        self._log = open(r / "server.log", "wb")  # noqa: SIM115
        for attempt in range(3):
            self.port = _free_port()
            cmd = [self.python, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
                   f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                   f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.nb_dir}",
                   "--LabApp.expose_app_in_browser=True",  # window.jupyterapp
                   f"--LabApp.user_settings_dir={r / 'settings'}",
                   f"--LabApp.workspaces_dir={r / 'workspaces'}", "--LabApp.news_url=None",
                   "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                   "--LabApp.extension_manager=readonly"]
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                cmd.append("--ServerApp.allow_root=True")
            self.proc = subprocess.Popen(cmd, cwd=self.nb_dir, env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
            if self._wait_ready():
                break
            self.proc.wait()
            if attempt == 2 or "already in use" not in self.server_log()[-3000:]:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self.server_log()[-3000:]}")
        self.timings["server_start"] = round(time.monotonic() - t0, 2)

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if self.api("GET", "/api/status", timeout=2) is not None:
                    return True
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"jupyter lab did not answer in {self.start_timeout}s:\n{self.server_log()[-3000:]}")

    def api(self, method: str, path: str, timeout: float = 10) -> Any:
        req = urllib.request.Request(self.base + path, method=method, data=b"" if method == "POST" else None,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else {}

    def server_log(self) -> str:
        try:
            return (Path(self.root) / "server.log").read_text(errors="replace")
        except OSError:
            return ""

    def close(self) -> None:
        """Stop page, browser driver, server and every process of ours. Idempotent."""
        d = _Deferred(self.cleanup_errors)
        if self._page is not None:
            d(self._page.close)
        if self._pw is not None:
            d(self._pw.stop)
            self._pw = None
        if self.proc is not None:
            d(self._stop_server)
            self.proc = None
        if self.root:
            d(lambda: self.leftovers.extend(_reap(_marked(self.root, (MARKER, self.root)), grace=3)))
            d(shutil.copyfile, Path(self.root) / "server.log", artifacts_dir() / "lab-server.log")
            if self._log is not None:
                d(self._log.close)
                self._log = None
            d(shutil.rmtree, self.root, True)
            self.root = ""
        _LIVE_LABS.discard(self)
        d.done()

    def _stop_server(self) -> None:
        psutil = _psutil()
        proc = self.proc
        try:
            kids = psutil.Process(proc.pid).children(recursive=True)
        except psutil.Error:
            kids = []
        if proc.poll() is None:
            try:
                self.api("POST", "/api/shutdown", timeout=5)
                proc.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, sig)  # its own session / process group (start_new_session)
                except OSError:
                    pass
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
        proc.wait(timeout=10)
        self.leftovers.extend(_reap(kids, grace=5))  # kernels (own process groups) and their children

    # --- kernelspec / page config, rewritten for each notebook page
    def _write_kernelspec(self, env: Mapping[str, str]) -> None:
        _write_json(Path(self.env["JUPYTER_DATA_DIR"]) / "kernels" / KERNEL_NAME / "kernel.json", {
            "argv": [self.python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": f"tracker e2e ({self.python})", "language": "python", "env": dict(env)})

    def _write_page_config(self, disabled: Iterable[str]) -> None:
        # read by jupyterlab_server at every page load
        _write_json(Path(self.env["JUPYTER_CONFIG_DIR"]) / "labconfig" / "page_config.json",
                    {"disabledExtensions": {name: True for name in disabled}})

    # --- notebooks
    def open(self, notebook: Any, *, name: str = "test", kernel_env: Mapping[str, str] | None = None,
             disabled_extensions: Iterable[str] = (), line_selector: str = ".tracker-chart path.line",
             timeout: float = 90) -> "NotebookPage":
        """Write ``notebook`` (an nbformat node, a dict or a path) into the lab, open it in a new
        Chromium (fresh profile) and wait until its kernel is idle."""
        if self._page is not None:
            raise RuntimeError("one notebook page at a time: close the previous one first")
        if isinstance(notebook, (str, Path)):
            nb = json.loads(Path(notebook).read_text())
        else:
            nb = json.loads(json.dumps(notebook))
        nb.setdefault("metadata", {})["kernelspec"] = {
            "name": KERNEL_NAME, "display_name": f"tracker e2e ({self.python})", "language": "python"}
        nb["metadata"].pop("widgets", None)
        nb["nbformat"], nb["nbformat_minor"] = 4, max(5, nb.get("nbformat_minor", 5))
        for i, cell in enumerate(nb.get("cells", [])):
            cell.setdefault("id", f"cell-{i}")
            if cell.get("cell_type") == "code":
                cell["outputs"], cell["execution_count"] = [], None
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80] or "test"
        path = self.nb_dir / f"{safe}-{secrets.token_hex(3)}.ipynb"
        path.write_text(json.dumps(nb, indent=1))
        run_id = f"{self.root}/{path.stem}"
        self._write_kernelspec({**dict(kernel_env or {}), RUN_MARKER: run_id})
        self._write_page_config(disabled_extensions)
        if self._pw is None:
            from playwright.sync_api import sync_playwright

            self._pw = sync_playwright().start()
        page = NotebookPage(self, path, safe, run_id, line_selector)
        self._page = page
        try:
            page._open(timeout)
        except BaseException:
            page.close()
            raise
        return page


# --------------------------------------------------------------------------- one notebook page

class NotebookPage:
    def __init__(self, lab: Lab, path: Path, name: str, run_id: str, line_selector: str):
        self.lab, self.path, self.name, self.run_id = lab, path, name, run_id
        self.line_selector = line_selector
        self.requests: list[str] = []
        self.external: list[str] = []
        self.console: list[str] = []
        self.timings: dict[str, float] = {}
        self.kernel: dict = {}
        self.context = None
        self.page = None

    def __enter__(self) -> "NotebookPage":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _record(self, url: str) -> None:
        url = re.sub(r"token=\w+", "token=...", url)
        self.requests.append(url)
        if is_external(url) and url not in self.external:
            self.external.append(url)

    def _block(self, route) -> None:
        url = re.sub(r"token=\w+", "token=...", route.request.url)
        if url not in self.external:
            self.external.append(url)
        route.abort("blockedbyclient")

    def _open(self, timeout: float) -> None:
        lab = self.lab
        t0 = time.monotonic()
        profile = Path(lab.root) / f"chromium-{self.path.stem}"
        self.context = lab._pw.chromium.launch_persistent_context(
            str(profile), executable_path=lab.chromium, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": lab.viewport[0], "height": lab.viewport[1]},
            env={**os.environ, MARKER: lab.root, "HOME": str(profile)}, timeout=60000)
        self.context.on("request", lambda r: self._record(r.url))
        self.context.route(EXTERNAL_URL, self._block)
        self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
        self.page.on("websocket", lambda ws: self._record(ws.url))
        self.page.on("console", lambda m: self.console.append(m.text[:500]) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {str(e)[:500]}"))
        self.timings["browser_launch"] = round(time.monotonic() - t0, 2)

        t0 = time.monotonic()
        rel = urllib.parse.quote(self.path.name)
        # a workspace of its own: no tab of an earlier notebook is restored (nor its kernel)
        self.page.goto(f"{lab.base}/lab/workspaces/{self.path.stem}/tree/{rel}?token={lab.token}",
                       wait_until="domcontentloaded",
                       timeout=timeout * 1000)
        self.page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout * 1000)
        deadline = time.monotonic() + timeout
        # app.restored resolves before /lab/tree/<nb> is opened: poll for the panel
        while not self.page.evaluate(HELPERS_JS, {"nbPath": self.path.name, "lineSelector": self.line_selector}):
            if time.monotonic() > deadline:
                raise TimeoutError(f"notebook panel {self.path.name} not found")
            time.sleep(0.2)
        self.timings["page_load"] = round(time.monotonic() - t0, 2)

        t0 = time.monotonic()
        forced = False
        while True:
            ks = self.page.evaluate("() => window.__e2e.kernel()")
            if ks["ready"] and ks["status"] == "idle":
                break
            accept = self.page.query_selector(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
            if accept:  # safety net: a kernel picker despite the pinned kernelspec
                accept.click()
            if ks["hasNoKernel"] and not forced and time.monotonic() - t0 > 5:
                self.page.evaluate(f"() => window.__e2e.panel.sessionContext.changeKernel({{name: '{KERNEL_NAME}'}})")
                forced = True
            if time.monotonic() > deadline:
                raise TimeoutError(f"kernel not idle: {ks}\n{self.lab.server_log()[-2000:]}")
            time.sleep(0.2)
        self.kernel = {"id": ks["id"], "name": ks["name"], **self._kernel_process(ks["id"])}
        self.timings["kernel_ready"] = round(time.monotonic() - t0, 2)

    def _kernel_process(self, kernel_id: str) -> dict:
        psutil = _psutil()
        try:
            procs = psutil.Process(self.lab.proc.pid).children(recursive=True)
        except psutil.Error:
            return {}
        for p in procs:
            try:
                argv = p.cmdline()
            except psutil.Error:
                continue
            if any(f"kernel-{kernel_id}.json" in a for a in argv):
                return {"pid": p.pid, "argv": argv}
        return {}

    def _shutdown_kernel(self) -> None:
        """End this notebook's session (so no later page restores it) and its kernel."""
        for sess in self.lab.api("GET", "/api/sessions"):
            if sess.get("path", "").endswith(self.path.name) or (sess.get("kernel") or {}).get("id") == self.kernel.get("id"):
                self.lab.api("DELETE", f"/api/sessions/{sess['id']}")
        if self.kernel.get("id") and any(k["id"] == self.kernel["id"] for k in self.lab.api("GET", "/api/kernels")):
            self.lab.api("DELETE", f"/api/kernels/{self.kernel['id']}")

    def run_all(self, *, selectors: Iterable[str] = (), timeout: float = 120, interval_ms: int = 50,
                settle: float = 3.0) -> LabResult:
        """Run all cells, sampling the DOM every ``interval_ms`` in the page; wait for the kernel
        to be idle and the DOM to settle; collect the result."""
        self.start_all(interval_ms)
        return self.finish_all(selectors=selectors, timeout=timeout, settle=settle)

    def start_all(self, interval_ms: int = 50) -> None:
        """Start running all cells and return at once (then look at the page, then :meth:`finish_all`)."""
        self._t_run = time.monotonic()
        self.page.evaluate("(ms) => window.__e2e.start(ms)", interval_ms)

    def running_cell(self) -> int:
        """The code cell running now (its prompt shows [*]), or -1."""
        return self.page.evaluate("() => window.__e2e.prompts().findIndex(p => p.includes('*'))")

    def finish_all(self, *, selectors: Iterable[str] = (), timeout: float = 120, settle: float = 3.0) -> LabResult:
        """Wait for the cells :meth:`start_all` started, and collect the result."""
        selectors = list(selectors)
        page = self.page
        try:
            t0 = getattr(self, "_t_run", time.monotonic())
            deadline = time.monotonic() + timeout
            while True:
                st = page.evaluate("() => [window.__e2e.runDone, window.__e2e.prompts(), window.__e2e.kernel()]")
                if st[0] and not any("*" in p for p in st[1]) and st[2]["status"] == "idle":
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"cells still running after {timeout}s: prompts={st[1]} kernel={st[2]}")
                time.sleep(0.1)
            self.timings["run_all"] = round(time.monotonic() - t0, 2)
            t0 = time.monotonic()
            prev = None
            while time.monotonic() - t0 < settle:  # last comm messages: points and outputs stable
                page.wait_for_timeout(300)
                cur = page.evaluate("() => { const s = window.__e2e.sample(); return [s.pts, s.outputs]; }")
                if cur == prev:
                    break
                prev = cur
            self.timings["settle"] = round(time.monotonic() - t0, 2)
            samples = page.evaluate("() => { clearInterval(window.__e2e.timer); return window.__e2e.samples; }")
            run_error = page.evaluate("() => window.__e2e.runError")
            got = page.evaluate(COLLECT_JS, selectors)
        except BaseException:
            try:
                self.screenshot("error")
            except Exception:  # noqa: BLE001
                pass
            raise
        cells = [Cell(index=c["index"], prompt=c["prompt"], source=c["source"],
                      outputs=[Output(o["mime"], o["text"], o["widget"]) for o in c["dom"]],
                      model_outputs=c["model"], counts=c["counts"], error_boxes=c["errorBoxes"])
                 for c in got["cells"]]
        widget_errors = []
        for c in cells:
            if c.error_boxes:
                widget_errors.append(f"cell {c.index}: {c.error_boxes} .jupyter-widgets-error-widget box(es)")
            for o in c.outputs:
                m = PLACEHOLDER_RE.search(o.text)
                if m:
                    widget_errors.append(f"cell {c.index}: {m.group(0)!r} left in an output")
            for mo, o in zip(c.model_outputs, c.outputs):
                if WIDGET_MIME in mo["mimes"] and not o.widget:
                    widget_errors.append(f"cell {c.index}: widget output rendered as {o.mime} "
                                         f"(no widget manager?): {o.text[:80]!r}")
        extra = got["errorBoxes"] - sum(c.error_boxes for c in cells)
        if extra > 0:
            widget_errors.append(f"{extra} .jupyter-widgets-error-widget box(es) outside code outputs")
        return LabResult(
            cells=cells, samples=samples, counts=got["counts"], texts=got["texts"], widget_errors=widget_errors,
            console_errors=list(self.console), requests=list(self.requests), external_requests=list(self.external),
            kernel=dict(self.kernel), timings={**self.lab.timings, **self.timings}, run_error=run_error)

    def screenshot(self, label: str, selector: str | None = None) -> Path:
        """PNG of the page (or of the first element matching ``selector``) in the artifacts dir."""
        path = artifacts_dir() / f"{self.name}-{label}.png"
        if selector is None:
            self.page.screenshot(path=str(path), full_page=True)
        else:
            loc = self.page.locator(selector).first
            loc.scroll_into_view_if_needed(timeout=5000)
            loc.screenshot(path=str(path), timeout=15000)
        return path

    def close(self) -> None:
        """Close the browser, shut the kernel down, kill by pid whatever this notebook's kernel
        left behind (anything carrying its run marker)."""
        d = _Deferred(self.lab.cleanup_errors)
        if self.context is not None:
            d(self.context.close)
            self.context = None
        if self.lab.proc is not None and self.lab.proc.poll() is None:
            d(self._shutdown_kernel)
        if self.lab.root:
            profile = str(Path(self.lab.root) / f"chromium-{self.path.stem}")
            d(lambda: self.lab.leftovers.extend(_reap(_marked(profile, (RUN_MARKER, self.run_id)), grace=5)))
        self.lab._page = None
        d.done()
