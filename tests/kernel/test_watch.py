"""tracker.watch() on a real PyTorch model: gradient and parameter histograms read back through the Api.

torch is in the test extra (the frameworks): these tests fail, not skip, without it.
"""

from __future__ import annotations

import pytest
import torch

import jupyter_tracker as tracker

pytestmark = pytest.mark.integration


def train(model: torch.nn.Module, steps: int, log: bool = True) -> None:
    torch.manual_seed(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(steps):
        x = torch.randn(8, 4)
        loss = ((model(x) - x.sum(dim=1, keepdim=True)) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if log:
            tracker.log({"loss": loss.item()})


def model() -> torch.nn.Module:
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))


def test_gradients_every_log_freq_steps(tracker_env):
    run = tracker.init()
    net = model()
    tracker.watch(net, log_freq=3)
    train(net, 10)
    run.finish()
    back = tracker.Api().run(run.id)
    assert back.media_steps("gradients/0.weight") == [2, 5, 8]  # the 3rd, 6th and 9th backward pass
    counts, edges = back.media("gradients/0.weight", step=5)
    assert sum(counts) == 32 and len(edges) == len(counts) + 1  # every value of the 8x4 gradient
    assert not back.media_steps("parameters/0.weight")
    assert len(back.history(keys=["loss"])) == 10  # the training's own rows are untouched


def test_parameters_and_all(tracker_env):
    run = tracker.init()
    net = model()
    run.watch(net, log="all", log_freq=5)
    train(net, 5)
    run.finish()
    back = tracker.Api().run(run.id)
    keys = {"parameters/0.weight", "parameters/0.bias", "parameters/2.weight", "parameters/2.bias",
            "gradients/0.weight", "gradients/2.bias"}
    assert keys <= set(back.summary)
    counts, _ = back.media("parameters/0.bias", step=4)
    assert sum(counts) == 8


def test_unwatch_and_the_end_of_the_run_stop_the_hooks(tracker_env):
    run = tracker.init()
    net = model()
    tracker.watch(net, log_freq=1)
    train(net, 2)
    tracker.unwatch(net)
    train(net, 2)
    run.finish()
    assert tracker.Api().run(run.id).media_steps("gradients/0.weight") == [0, 1]
    tracker.init()
    tracker.watch(net, log_freq=1)
    tracker.finish()
    train(net, 2, log=False)  # the run is over: training goes on, nothing is raised


def test_non_finite_gradients_are_left_out(tracker_env):
    run = tracker.init()
    layer = torch.nn.Linear(2, 1)
    tracker.watch(layer, log_freq=1)
    out = layer(torch.tensor([[1.0, float("nan")]]))
    out.sum().backward()
    tracker.log({"x": 1})
    run.finish()
    counts, _ = tracker.Api().run(run.id).media("gradients/weight", step=0)
    assert sum(counts) == 1  # the NaN gradient value is not counted


@pytest.mark.parametrize("kwargs, error, match", [
    ({"models": "net"}, TypeError, "torch.nn.Module"),
    ({"log": "weights"}, ValueError, "log='weights'"),
    ({"log_freq": 0}, ValueError, "log_freq=0"),
])
def test_watch_mistakes_are_named(tracker_env, kwargs, error, match):
    tracker.init()
    args = {"models": model(), **kwargs}
    with pytest.raises(error, match=match):
        tracker.watch(**args)


def test_watch_without_a_run_says_so(tracker_env):
    with pytest.raises(RuntimeError, match="tracker.watch\\(\\): no active run"):
        tracker.watch(model())
