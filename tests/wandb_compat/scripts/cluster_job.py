"""A cluster job script in wandb's style: the job scheduler passes the run's identity
in WANDB_* variables, and a requeued job resumes the same run (WANDB_RESUME=allow).

Written anew for these tests; only the import line differs from a wandb script.
"""

import json
import os
import sys

import tracker as wandb

EPOCHS = 4
checkpoint = os.path.join(os.environ.get("CHECKPOINT_DIR", "."), "checkpoint.json")

run = wandb.init(project="cluster", config={"epochs": EPOCHS})
start = 0
if wandb.run.resumed and os.path.exists(checkpoint):
    with open(checkpoint) as f:
        start = json.load(f)["epoch"] + 1

for epoch in range(start, EPOCHS):
    wandb.log({"loss": 1.0 / (epoch + 1), "epoch": epoch})
    with open(checkpoint, "w") as f:
        json.dump({"epoch": epoch}, f)
    if os.environ.get("PREEMPT_AFTER") == str(epoch):
        wandb.mark_preempting()
        wandb.finish(exit_code=1)
        sys.exit(1)  # the scheduler requeues the job

wandb.finish()
