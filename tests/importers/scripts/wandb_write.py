"""Write wandb runs with wandb itself, offline (WANDB_MODE=offline: no network), for the importer's tests.

python wandb_write.py full|resumed|killed|media  (in the folder that gets wandb/); prints a JSON line.
"""
import json
import os
import signal
import sys
import time

os.environ["WANDB_MODE"] = "offline"
os.environ.setdefault("WANDB_SILENT", "true")

import wandb  # noqa: E402

what = sys.argv[1]
settings = wandb.Settings(x_stats_sampling_interval=0.2, console="off")

if what == "full":
    run = wandb.init(project="wb", name="full-run", dir=".", settings=settings, tags=["a", "b"], notes="some notes",
                     group="g1", job_type="train",
                     config={"lr": 0.01, "layers": [8, 4], "opt": {"name": "adam", "beta": 0.9},
                             "long": "x" * 80_000})  # a record over three 32 KiB blocks
    run.define_metric("epoch")
    run.define_metric("val/*", step_metric="epoch", summary="max")
    run.define_metric("train/loss", summary="min")
    logged = []
    for step in range(20):
        row = {"train/loss": 1.0 / (step + 1), "train/nested": {"x": step}, "label": "text"}
        if step % 5 == 4:
            row.update({"val/acc": step / 20, "epoch": step // 5})
        run.log(row)
        logged.append({"_step": step, "train/loss": row["train/loss"], "train/nested/x": step,
                       **({"val/acc": row["val/acc"], "epoch": row["epoch"]} if "epoch" in row else {})})
    run.log({"odd": float("nan")})
    run.config.update({"late": 7})
    run.summary["best"] = 0.5
    run.summary["note"] = "hello"
    with open("notes.txt", "w") as handle:
        handle.write("a saved file")
    run.save("notes.txt", policy="now")
    time.sleep(1.5)  # a few system samples
    run.finish()
    print(json.dumps({"id": run.id, "dir": os.path.dirname(run.dir), "logged": logged}))
elif what == "resumed":
    for part in range(2):
        run = wandb.init(project="wb", id="resumeme", resume="allow", dir=".", settings=settings)
        for step in range(5):
            run.log({"x": float(part * 5 + step)})
        run.finish()
        time.sleep(1.1)  # a folder per session: wandb names them by the second they start
    print(json.dumps({"id": "resumeme"}))
elif what == "media":
    import numpy as np

    run = wandb.init(project="wb", name="media-run", dir=".", settings=settings)
    for step in range(3):
        pixels = np.zeros((6, 8, 3), dtype=np.uint8)
        pixels[:, step, 0] = 255
        run.log({"x": float(step), "img": wandb.Image(pixels, caption=f"c{step}"),
                 "grid": [wandb.Image(pixels), wandb.Image(pixels[:, :, 0])],
                 "hist": wandb.Histogram(np.arange(100.0) * (step + 1)),
                 "given": wandb.Histogram(np_histogram=([1, 2], [0.0, 1.0, 2.0])),
                 "tab": wandb.Table(columns=["a", "b"], data=[[1, "x"], [2, "y"]])})
    run.finish()
    print(json.dumps({"id": run.id, "dir": os.path.dirname(run.dir)}))
elif what == "killed":
    # wandb's service writes its log a 32 KiB block at a time: enough rows that most are on disk
    run = wandb.init(project="wb", name="killed-run", dir=".", settings=settings)
    for step in range(3000):
        run.log({"x": float(step)})
    time.sleep(1.0)
    print(json.dumps({"id": run.id, "dir": os.path.dirname(run.dir)}), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
