"""Export a project's runs to CSV with the public API, as wandb's docs show it.

Written anew for these tests; only the import line differs from a wandb script.
"""

import sys

import pandas as pd

import tracker as wandb

api = wandb.Api()
entity, project = sys.argv[1], sys.argv[2]
runs = api.runs(f"{entity}/{project}")

summary_list, config_list, name_list = [], [], []
for run in runs:
    summary_list.append({k: v for k, v in run.summary.items() if not k.startswith("_")})
    config_list.append({k: v for k, v in run.config.items() if not k.startswith("_")})
    name_list.append(run.name)

runs_df = pd.DataFrame({"summary": summary_list, "config": config_list, "name": name_list})
runs_df.to_csv("project.csv")

first = runs[0]
history = first.history(keys=["val/loss", "epoch"], pandas=True)
history.to_csv("history.csv", index=False)
print(f"EXPORTED {len(runs_df)} {len(history)}")
