"""A training script as wandb users write them (written anew for these tests).

The only change from a wandb script is the import line.
"""

import argparse
import json
import math
import os
import random
import tempfile

import matplotlib.pyplot as plt
import numpy as np

import tracker as wandb

parser = argparse.ArgumentParser(description="train a toy model")
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--batches", type=int, default=10)
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--batch_size", type=int, default=32)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

run = wandb.init(
    project="wandb-compat",
    entity="my-team",
    config=args,
    config_exclude_keys=["seed"],
    job_type="train",
    tags=["baseline", "toy"],
    notes="a toy model, to check the wandb surface",
    reinit=True,
    save_code=True,
    settings=wandb.Settings(start_method="thread", _disable_stats=True, console="off"),
)
config = wandb.config
config.update({"optimizer": "sgd"})

wandb.define_metric("epoch")
wandb.define_metric("val/*", step_metric="epoch")
wandb.define_metric("val/loss", summary="min", goal="minimize")
wandb.define_metric("val/acc", summary="max")

random.seed(args.seed)
rng = np.random.default_rng(args.seed)
best_val = math.inf
val_rows = []
for epoch in range(config.epochs):
    for batch in range(config.batches):
        loss = math.exp(-config.lr * (epoch * config.batches + batch)) + random.random() * 0.01
        wandb.log({"train/loss": loss}, commit=False)
        wandb.log({"train/lr": config.lr})
    val_loss = 1.0 / (epoch + 1)
    val_acc = 1 - val_loss / 2
    predictions = [wandb.Image(rng.random((8, 8, 3)), caption=f"sample {i}") for i in range(2)]
    wandb.log({
        "val/loss": val_loss,
        "val/acc": val_acc,
        "val/examples": predictions,
        "val/scores": wandb.Histogram(rng.normal(size=1000)),
        "epoch": epoch,
    })
    val_rows.append([epoch, val_loss, val_acc])
    if val_loss < best_val:
        best_val = val_loss
        wandb.run.summary["best_val_loss"] = best_val
    if math.isnan(loss):
        wandb.alert(title="Loss is NaN", text=f"epoch {epoch}", level=wandb.AlertLevel.ERROR)

plt.plot([row[1] for row in val_rows])
plt.title("validation loss")
wandb.log({"val/curve": plt})
wandb.log({"val/table": wandb.Table(columns=["epoch", "loss", "acc"], data=val_rows)})
model_dir = tempfile.mkdtemp()
with open(os.path.join(model_dir, "model.json"), "w") as f:
    json.dump({"lr": config.lr, "best_val_loss": best_val}, f)
artifact = wandb.Artifact("toy-model", type="model", metadata={"best_val_loss": best_val})
artifact.add_file(os.path.join(model_dir, "model.json"))
run.log_artifact(artifact, aliases=["best"])

wandb.run.summary.update({"epochs_trained": config.epochs})
wandb.alert(
    title="Training finished",
    text=f"{wandb.run.name}: best val loss {best_val:.3f}",
    level=wandb.AlertLevel.INFO,
)
wandb.save()
print(f"RESULT {wandb.run.name} {wandb.run.id} {wandb.run.entity} {wandb.run.project} {wandb.run.url}")
wandb.finish()
assert wandb.run is None
