"""A tiny LightGBM training with early stopping on synthetic data, then log_summary().

Run as a script or as a notebook cell; writes LightGBM's own evaluation log to lightgbm_train.json.
"""
import json

import lightgbm as lgb
import numpy as np

from jupyter_tracker.integrations.lightgbm import log_summary, tracker_callback

rng = np.random.default_rng(0)
X = rng.normal(size=(300, 5))
y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.7, size=300) > 0).astype(int)
train = lgb.Dataset(X[:200], y[:200])
valid = lgb.Dataset(X[200:], y[200:], reference=train)
recorded = {}
booster = lgb.train({"objective": "binary", "metric": ["binary_logloss", "auc"], "num_leaves": 4, "verbose": -1,
                     "seed": 0, "deterministic": True}, train, 40, valid_sets=[train, valid],
                    valid_names=["train", "valid"],
                    callbacks=[tracker_callback(project="lgb"), lgb.record_evaluation(recorded),
                               lgb.early_stopping(5, verbose=False)])
log_summary(booster)
with open("lightgbm_train.json", "w") as handle:
    json.dump({"recorded": recorded, "best_iteration": booster.best_iteration,
               "best_score": {k: dict(v) for k, v in booster.best_score.items()}}, handle)
