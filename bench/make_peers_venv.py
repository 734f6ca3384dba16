#!/usr/bin/env python3
"""Create the virtualenv that holds the peer trackers (wandb, trackio, MLflow, Aim).

One command:

    python3 bench/make_peers_venv.py            # -> $PEERS_VENV, else .venv-peers in the checkout
    python3 bench/make_peers_venv.py --path .venv-peers

The peers live in their own venv so that their (large) dependency trees never
end up next to jupyter-tracker. bench/log_overhead.py runs every peer worker
with this venv's python (``--peers-python``).

Steps: create the venv (stdlib ``venv``), upgrade pip, install
bench/requirements-peers.txt in one go, then every line of
bench/requirements-peers-optional.txt on its own (Aim today). An optional
package that fails to install is not an error: the exact pip output tail is
written to ``<venv>/peers-install-report.json`` and the benchmark reports that
configuration as "not installed".

If the machine's pip configuration carries a constraints file that blocks a
peer, ``--no-constraints`` clears PIP_CONSTRAINT for the pip calls made into
this venv only (the project's own environment is never touched).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_PATH = os.environ.get("PEERS_VENV") or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".venv-peers")


def read_requirements(path: Path) -> list[str]:
    out = []
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def pip(py: Path, args: list[str], env: dict) -> subprocess.CompletedProcess:
    cmd = [str(py), "-m", "pip", *args]
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, env=env, text=True, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--path", default=DEFAULT_PATH, help=f"venv location (default: $PEERS_VENV or .venv-peers; now {DEFAULT_PATH})")
    ap.add_argument("--python", default=sys.executable, help="interpreter the venv is created from (default: this one)")
    ap.add_argument("--recreate", action="store_true", help="delete and recreate an existing venv")
    ap.add_argument("--no-constraints", action="store_true", help="clear PIP_CONSTRAINT for pip calls into this venv")
    ap.add_argument("--skip-optional", action="store_true", help="do not try the optional peers (Aim)")
    args = ap.parse_args(argv)

    target = Path(args.path).resolve()
    py = target / "bin" / "python"
    t0 = time.time()

    if args.recreate and target.exists():
        import shutil

        shutil.rmtree(target)
    if not py.exists():
        print(f"creating venv at {target} from {args.python}", flush=True)
        if Path(args.python).resolve() == Path(sys.executable).resolve():
            venv.EnvBuilder(with_pip=True, clear=False, symlinks=True).create(target)
        else:
            subprocess.run([args.python, "-m", "venv", str(target)], check=True)
    else:
        print(f"reusing venv at {target}", flush=True)

    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if args.no_constraints:
        env["PIP_CONSTRAINT"] = ""

    report: dict = {"venv": str(target), "python": None, "required": {}, "optional": {}}
    r = subprocess.run([str(py), "-c", "import sys; print(sys.version.split()[0])"], text=True, capture_output=True)
    report["python"] = r.stdout.strip()

    r = pip(py, ["install", "--quiet", "--upgrade", "pip"], env)
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:], sep="\n")
        print("warning: could not upgrade pip; continuing with the bundled one", flush=True)

    required = read_requirements(HERE / "requirements-peers.txt")
    r = pip(py, ["install", *required], env)
    report["required"] = {"packages": required, "returncode": r.returncode, "tail": (r.stdout + r.stderr)[-3000:]}
    if r.returncode != 0:
        print(r.stdout[-4000:], r.stderr[-4000:], sep="\n")
        print("ERROR: installing the required peers failed (see above)", flush=True)
        (target / "peers-install-report.json").write_text(json.dumps(report, indent=2))
        return 1

    if not args.skip_optional:
        for req in read_requirements(HERE / "requirements-peers-optional.txt"):
            r = pip(py, ["install", req], env)
            ok = r.returncode == 0
            tail = (r.stdout + r.stderr)[-3000:]
            report["optional"][req] = {"installed": ok, "returncode": r.returncode, "tail": tail}
            if ok:
                print(f"  optional peer {req}: installed", flush=True)
            else:
                # keep the exact reason: the benchmark will show "not installed"
                print(f"  optional peer {req}: FAILED to install; reason (pip output tail):\n{tail}", flush=True)

    r = pip(py, ["check"], env)
    report["pip_check"] = (r.stdout + r.stderr).strip()
    if r.returncode != 0:
        print("warning: pip check reports conflicts:\n" + report["pip_check"], flush=True)

    versions = subprocess.run(
        [
            str(py),
            "-c",
            "import json, importlib.metadata as m\n"
            "out = {}\n"
            "for d in ('wandb', 'trackio', 'mlflow', 'aim', 'orjson', 'psutil'):\n"
            "    try: out[d] = m.version(d)\n"
            "    except m.PackageNotFoundError: out[d] = None\n"
            "print(json.dumps(out))",
        ],
        text=True,
        capture_output=True,
    )
    try:
        report["versions"] = json.loads(versions.stdout)
    except ValueError:
        report["versions"] = {}
    (target / "peers-install-report.json").write_text(json.dumps(report, indent=2))

    print(f"\npeers venv ready in {time.time() - t0:.0f} s: {py}")
    for k, v in report["versions"].items():
        print(f"  {k:8s} {v or 'NOT INSTALLED'}")
    print(f"\nrun the benchmark with:  python bench/log_overhead.py --peers-python {py}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
