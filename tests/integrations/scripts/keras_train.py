"""A tiny Keras 3 fit with the torch backend on synthetic data.

Run as a script or as a notebook cell; writes Keras' own History to keras_train.json.
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from jupyter_tracker.integrations.keras import MetricsLogger  # noqa: E402

keras.utils.set_random_seed(0)
x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse", metrics=["mae"])
history = model.fit(x, x.sum(1, keepdims=True), epochs=3, batch_size=16, validation_split=0.25, verbose=0,
                    callbacks=[MetricsLogger(log_freq=2, project="keras", config={"seed": 0})])
with open("keras_train.json", "w") as handle:
    json.dump({"history": history.history, "backend": keras.backend.backend()}, handle)
