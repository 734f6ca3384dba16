"""A tiny XGBoost training with early stopping on synthetic data, and the scikit-learn interface.

Run as a script or as a notebook cell; writes XGBoost's own evaluation log to xgboost_train.json.
"""
import json

import numpy as np
import xgboost as xgb
from sklearn.base import clone

from jupyter_tracker.integrations.xgboost import TrackerCallback

rng = np.random.default_rng(0)
X = rng.normal(size=(300, 5))
y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.7, size=300) > 0).astype(int)
dtrain, dvalid = xgb.DMatrix(X[:200], y[:200]), xgb.DMatrix(X[200:], y[200:])
evals_result = {}
booster = xgb.train({"objective": "binary:logistic", "eval_metric": ["logloss", "auc"], "max_depth": 2, "eta": 0.3,
                     "seed": 0}, dtrain, 40, evals=[(dtrain, "train"), (dvalid, "valid")], early_stopping_rounds=5,
                    evals_result=evals_result, verbose_eval=False, callbacks=[TrackerCallback(project="xgb")])

model = xgb.XGBClassifier(n_estimators=4, max_depth=2, eval_metric="logloss",
                          callbacks=[TrackerCallback(project="xgb-sk", name="sklearn")])
model.fit(X[:200], y[:200], eval_set=[(X[200:], y[200:])], verbose=False)
clone(model)  # scikit-learn deep-copies the callbacks: the run must not go with them

with open("xgboost_train.json", "w") as handle:
    json.dump({"evals_result": evals_result, "best_iteration": booster.best_iteration,
               "best_score": booster.best_score}, handle)
