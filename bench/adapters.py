"""One adapter per configuration measured by bench/log_overhead.py.

Each adapter knows, for one tool:

* which interpreter runs it ("ours": the suite's python, where jupyter-tracker
  is installed; "peers": the peers venv from bench/make_peers_venv.py),
* the environment that keeps it local and quiet (set by the parent *before* the
  worker starts, because several tools read it at import time),
* how to import it, create an empty store (``prepare``), start a run
  (``init``, returning the ``log(d, step=i)`` callable the shared loop calls),
  flush and close it (``finish``), and read every point back with the tool's
  own reader (``readback``).

This module is imported by the worker *before* the tool import is timed, so it
must import nothing but ``os`` at module level: every tool import and
every helper import happens inside a method.
"""

import os
from abc import ABC, abstractmethod

PROJECT = "bench"
METRICS = ("a", "b", "c", "d")


class NotInstalled(Exception):
    pass


class Adapter(ABC):
    name = ""
    python = "peers"  # "ours" or "peers"
    modules: tuple = ()  # top-level modules whose presence means "installed"
    dists: tuple = ()  # distribution names for the version string
    settings = ""  # one line for the report: how the tool is configured
    readback_method = ""  # one line for the report: how the data is read back

    def __init__(self, workdir, n, run_name):
        self.workdir = workdir
        self.n = n
        self.run_name = run_name
        self.mod = None

    # -- parent side ----------------------------------------------------
    @classmethod
    def env(cls, workdir):
        """Environment for the worker; a value of None removes the variable."""
        return {}

    # -- worker side ----------------------------------------------------
    def do_import(self):
        """Import the tool. This call is what "import time" measures."""

    # Tools with a costly one-time store creation (schema migrations, repo init)
    # make a pristine empty store once per suite (make_template, run in its own
    # worker by the parent) and every measured run starts from a copy of it.
    template_key = None  # configurations sharing a key share one template

    def make_template(self, template_dir):
        """Create a pristine empty store inside template_dir (once per suite)."""

    def prepare(self):
        """Get an empty store ready where the tool has an explicit step for it.

        Timed and reported separately (prepare_s); *not* part of init().
        """

    @staticmethod
    def template_dir():
        d = os.environ.get("BENCH_TEMPLATE_DIR")
        return d if d and os.path.isdir(d) else None

    @abstractmethod
    def init(self):
        """Start a run; return log(d, step=i). Timed as init()."""

    def finish(self):
        """Flush and close. Timed as finish."""

    @abstractmethod
    def readback(self):
        """Return {metric: [(step, value), ...]} read with the tool's own API."""

    def version(self):
        from importlib import metadata

        for d in self.dists:
            try:
                return metadata.version(d)
            except metadata.PackageNotFoundError:
                pass
        v = getattr(self.mod, "__version__", None)
        return v if isinstance(v, str) else None


def _empty():
    return {k: [] for k in METRICS}


# ---------------------------------------------------------------------------
# baselines
# ---------------------------------------------------------------------------
class BareLoop(Adapter):
    name = "bare-loop"
    python = "ours"
    settings = "same loop, log() is a no-op Python function: the floor every configuration pays"
    readback_method = "nothing is stored"

    def init(self):
        def log(d, step=None):
            pass

        return log

    def readback(self):
        return None

    def version(self):
        return None


class OrjsonAppend(Adapter):
    name = "orjson-append"
    python = "ours"
    modules = ("orjson",)
    dists = ("orjson",)
    settings = "one orjson.dumps(d) + b'\\n' written per call to a buffered file opened 'wb'; finish = close()"
    readback_method = "orjson.loads of every line (line k = step k)"

    def do_import(self):
        import orjson

        self.mod = orjson

    def init(self):
        self.path = os.path.join(self.workdir, "log.jsonl")
        self.fh = open(self.path, "wb")
        write = self.fh.write
        dumps = self.mod.dumps

        def log(d, step=None):
            write(dumps(d) + b"\n")

        return log

    def finish(self):
        self.fh.close()

    def readback(self):
        loads = self.mod.loads
        out = _empty()
        with open(self.path, "rb") as fh:
            for step, line in enumerate(fh):
                row = loads(line)
                for k in METRICS:
                    if k in row:
                        out[k].append((step, row[k]))
        return out


# ---------------------------------------------------------------------------
# ours
# ---------------------------------------------------------------------------
class JupyterTracker(Adapter):
    name = "jupyter-tracker"
    python = "ours"
    modules = ("jupyter_tracker",)
    dists = ("jupyter-tracker",)
    settings = "TRACKER_MODE=offline TRACKER_SILENT=true, init(dir=<fresh dir>)"
    readback_method = "tracker.Api(dir).runs(project)[0].history(samples=None)"

    @classmethod
    def env(cls, workdir):
        return {
            "TRACKER_SILENT": "true",
            "TRACKER_MODE": "offline",
            "TRACKER_DIR": os.path.join(workdir, "runs"),
        }

    def do_import(self):
        try:
            import jupyter_tracker as tracker
        except ImportError:
            try:
                import tracker  # the short alias the contract allows
            except ImportError as e:
                raise NotInstalled(str(e))
        self.mod = tracker

    def init(self):
        self.dir = os.path.join(self.workdir, "runs")
        self.run = self.mod.init(project=PROJECT, name=self.run_name, dir=self.dir, config={"n": self.n})
        return self.run.log

    def finish(self):
        self.run.finish()

    def readback(self):
        api = self.mod.Api(dir=self.dir)
        runs = list(api.runs(project=PROJECT))
        if not runs:
            raise RuntimeError("Api.runs(project) returned no run")
        rows = runs[0].history(samples=None)
        out = _empty()
        for row in rows:
            step = row.get("_step")
            for k in METRICS:
                if k in row and row[k] is not None:
                    out[k].append((step, row[k]))
        return out


# ---------------------------------------------------------------------------
# peers
# ---------------------------------------------------------------------------
class WandbOffline(Adapter):
    name = "wandb-offline"
    modules = ("wandb",)
    dists = ("wandb",)
    settings = "WANDB_MODE=offline WANDB_SILENT=true, wandb.init(mode='offline', dir=<fresh dir>), all other settings default"
    readback_method = (
        "the offline run's .wandb file: record framing read by bench/adapters.py, every record "
        "decoded with wandb's own protobuf (wandb.proto.wandb_internal_pb2.Record)"
    )

    @classmethod
    def env(cls, workdir):
        return {
            "WANDB_MODE": "offline",
            "WANDB_SILENT": "true",
            "WANDB_DIR": workdir,
            "WANDB_CONFIG_DIR": os.path.join(workdir, ".wandb-config"),
            "WANDB_CACHE_DIR": os.path.join(workdir, ".wandb-cache"),
            "WANDB_DATA_DIR": os.path.join(workdir, ".wandb-data"),
            "WANDB_API_KEY": None,
            "WANDB_BASE_URL": None,
        }

    def do_import(self):
        import wandb

        self.mod = wandb

    def init(self):
        self.run = self.mod.init(
            project=PROJECT, name=self.run_name, dir=self.workdir, config={"n": self.n}, mode="offline"
        )
        return self.run.log

    def finish(self):
        self.run.finish()

    def readback(self):
        import glob
        import json

        files = glob.glob(os.path.join(self.workdir, "wandb", "offline-run-*", "run-*.wandb"))
        if len(files) != 1:
            raise RuntimeError(f"expected one offline .wandb file, found {files}")
        from wandb.proto import wandb_internal_pb2 as pb

        out = _empty()
        wanted = set(METRICS)
        rec = pb.Record()
        for payload in iter_wandb_log_records(files[0]):
            rec.ParseFromString(payload)  # ParseFromString clears the message first
            if rec.WhichOneof("record_type") != "history":
                continue
            step = rec.history.step.num
            for item in rec.history.item:
                nk = item.nested_key
                key = nk[0] if len(nk) == 1 else ("/".join(nk) if len(nk) else item.key)
                if key in wanted:
                    try:
                        value = float(item.value_json)  # plain JSON numbers; faster than json.loads
                    except ValueError:
                        value = json.loads(item.value_json)
                    out[key].append((step, value))
        return out


def iter_wandb_log_records(path):
    """Yield the payload of every record in a W&B transaction log (.wandb file).

    wandb 0.2x/0.3x no longer ships a Python reader for these files and its
    public Api only talks to a server, so we read the container ourselves:
    a 7-byte file header (b":W&B", magic 0xBEE1, version), then 32 KiB blocks
    of records, each with a 7-byte header (CRC32 of type+data, little-endian
    uint16 length, uint8 type: 1 full, 2 first, 3 middle, 4 last). A block tail
    shorter than a record header is zero padding. The payloads are protobuf
    ``Record`` messages that the caller decodes with wandb's own classes.
    Raises on a bad header or checksum so a damaged file is never counted as
    complete.
    """
    import struct
    import zlib

    block = 32768
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:4] != b":W&B":
        raise RuntimeError(f"{path}: not a W&B transaction log (header {data[:7]!r})")
    pos = 7
    pending = None
    size = len(data)
    while pos + 7 <= size:
        room = block - (pos % block)
        if room < 7:
            pos += room
            continue
        crc, length, rtype = struct.unpack_from("<IHB", data, pos)
        if rtype == 0 and length == 0:  # zero padding up to the block end (or end of a partial file)
            pos += room
            continue
        body = data[pos + 7 : pos + 7 + length]
        if len(body) != length:
            raise RuntimeError(f"{path}: truncated record at offset {pos}")
        if zlib.crc32(bytes((rtype,)) + body) & 0xFFFFFFFF != crc:
            raise RuntimeError(f"{path}: checksum mismatch at offset {pos}")
        pos += 7 + length
        if rtype == 1:
            yield body
        elif rtype == 2:
            pending = [body]
        elif rtype == 3:
            pending.append(body)
        elif rtype == 4:
            pending.append(body)
            yield b"".join(pending)
            pending = None
        else:
            raise RuntimeError(f"{path}: unknown record type {rtype} at offset {pos}")


class Trackio(Adapter):
    name = "trackio"
    modules = ("trackio",)
    dists = ("trackio",)
    settings = (
        "local mode: no space_id/server_url (TRACKIO_SPACE_ID, TRACKIO_SERVER_URL, bucket/dataset ids unset), "
        "TRACKIO_DIR=<fresh dir>, init(embed=False) so no dashboard is launched, HF_HUB_OFFLINE=1; "
        "CPU auto-logging left at its default"
    )
    readback_method = "trackio.sqlite_storage.SQLiteStorage.get_logs(project, run) (trackio's local SQLite reader)"

    @classmethod
    def env(cls, workdir):
        return {
            "TRACKIO_DIR": os.path.join(workdir, "trackio"),
            "TRACKIO_SPACE_ID": None,
            "TRACKIO_SERVER_URL": None,
            "TRACKIO_BUCKET_ID": None,
            "TRACKIO_DATASET_ID": None,
            "TRACKIO_WRITE_TOKEN": None,
            "SYSTEM": None,  # trackio treats SYSTEM=spaces as "running on a HF Space"
            "HF_HUB_OFFLINE": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "GRADIO_ANALYTICS_ENABLED": "False",
            "HF_HOME": os.path.join(workdir, ".hf"),
        }

    def do_import(self):
        import trackio

        self.mod = trackio

    def init(self):
        self.run = self.mod.init(project=PROJECT, name=self.run_name, config={"n": self.n}, embed=False)
        return self.run.log

    def finish(self):
        self.run.finish()

    def readback(self):
        from trackio.sqlite_storage import SQLiteStorage

        rows = SQLiteStorage.get_logs(PROJECT, self.run.name)
        out = _empty()
        for row in rows:
            step = row.get("step")
            for k in METRICS:
                if k in row:
                    out[k].append((step, row[k]))
        return out


class _Mlflow(Adapter):
    modules = ("mlflow",)
    dists = ("mlflow",)
    synchronous = True
    readback_method = "MlflowClient().get_metric_history(run_id, key) for each metric"

    @classmethod
    def env(cls, workdir):
        return {
            "MLFLOW_TRACKING_URI": "sqlite:///" + os.path.join(workdir, "mlflow.db"),
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "MLFLOW_ENABLE_ASYNC_LOGGING": None,
            "MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS": None,
        }

    def do_import(self):
        import mlflow

        self.mod = mlflow

    template_key = "mlflow"

    def make_template(self, template_dir):
        # MLFLOW_TRACKING_URI points into the worker's workdir == template_dir:
        # the first store access creates the SQLite schema (alembic migrations)
        self.mod.MlflowClient().search_experiments()

    def prepare(self):
        tpl = self.template_dir()
        if tpl:  # a copy of an empty, fully migrated store made by MLflow itself
            import shutil

            shutil.copyfile(os.path.join(tpl, "mlflow.db"), os.path.join(self.workdir, "mlflow.db"))
        # without a template, this first access runs the schema migrations
        self.client = self.mod.MlflowClient()
        self.experiment_id = self.client.create_experiment(PROJECT)

    def init(self):
        mlflow = self.mod
        mlflow.set_experiment(experiment_id=self.experiment_id)
        self.active = mlflow.start_run(run_name=self.run_name)
        mlflow.log_params({"n": self.n})
        log_metrics = mlflow.log_metrics
        if self.synchronous:

            def log(d, step=None):
                log_metrics(d, step=step)

        else:

            def log(d, step=None):
                log_metrics(d, step=step, synchronous=False)

        return log

    def finish(self):
        self.mod.end_run()

    def readback(self):
        run_id = self.active.info.run_id
        out = _empty()
        for k in METRICS:
            out[k] = [(m.step, m.value) for m in self.client.get_metric_history(run_id, k)]
        return out


class MlflowSync(_Mlflow):
    name = "mlflow-sync"
    synchronous = True
    settings = (
        "tracking URI sqlite:///<fresh dir>/mlflow.db (prepare: copy of an empty migrated store made by MLflow, "
        "then create_experiment), mlflow.log_metrics(d, step=i) (synchronous, the default)"
    )


class MlflowAsync(_Mlflow):
    name = "mlflow-async"
    synchronous = False
    settings = (
        "tracking URI sqlite:///<fresh dir>/mlflow.db (prepare as for mlflow-sync), mlflow.log_metrics(d, step=i, synchronous=False); "
        "async queue settings left at their defaults (MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS unset)"
    )


class Aim(Adapter):
    name = "aim"
    modules = ("aim",)
    dists = ("aim",)
    settings = "local repo <fresh dir>/aim (prepare: copy of an empty repo made by Repo.from_path(init=True)), aim.Run(repo, experiment), run.track(d, step=i); defaults otherwise"
    readback_method = (
        "Aim's RepoIndexManager.index(run_hash) (what `aim up` runs in the background), then "
        "Run(hash, read_only=True).metrics() -> metric.data.numpy()"
    )

    def do_import(self):
        import aim

        self.mod = aim

    template_key = "aim"

    def make_template(self, template_dir):
        from aim import Repo

        path = os.path.join(template_dir, "aim")
        os.makedirs(path, exist_ok=True)
        Repo.from_path(path, init=True)

    def prepare(self):
        from aim import Repo

        self.repo_path = os.path.join(self.workdir, "aim")
        tpl = self.template_dir()
        if tpl:  # a copy of an empty repo initialised by Aim itself
            import shutil

            shutil.copytree(os.path.join(tpl, "aim"), self.repo_path)
            Repo.from_path(self.repo_path)
        else:
            os.makedirs(self.repo_path, exist_ok=True)
            Repo.from_path(self.repo_path, init=True)

    def init(self):
        self.run = self.mod.Run(repo=self.repo_path, experiment=PROJECT)
        self.run.name = self.run_name
        self.run["hparams"] = {"n": self.n}
        self.hash = self.run.hash
        return self.run.track

    def finish(self):
        self.run.close()

    def readback(self):
        from aim import Repo, Run
        from aim.sdk.index_manager import RepoIndexManager

        repo = Repo.from_path(self.repo_path)
        RepoIndexManager.get_index_manager(repo).index(self.hash)
        repo.container_pool.clear()
        run = Run(self.hash, repo=repo, read_only=True)
        out = _empty()
        for metric in run.metrics():
            if metric.name in out and not metric.context.to_dict():
                steps, (values, _epochs, _times) = metric.data.numpy()
                out[metric.name] = list(zip(steps.tolist(), values.tolist()))
        return out


ADAPTERS = {
    a.name: a
    for a in (BareLoop, OrjsonAppend, JupyterTracker, WandbOffline, Trackio, MlflowSync, MlflowAsync, Aim)
}
CONFIG_ORDER = list(ADAPTERS)
