"""wandb features tracker lacks: NotImplementedError naming them and docs/wandb.md (and hasattr stays False)."""

from __future__ import annotations

import pytest

import jupyter_tracker as tracker
from jupyter_tracker.kernel.unsupported import WANDB_UNSUPPORTED


@pytest.mark.parametrize("name", sorted(WANDB_UNSUPPORTED))
def test_every_unsupported_wandb_name_says_so(name):
    feature = WANDB_UNSUPPORTED[name][0]
    with pytest.raises(NotImplementedError) as caught:
        getattr(tracker, name)
    message = str(caught.value)
    assert message.startswith(f"tracker.{name}: tracker does not support ")
    assert feature in message and message.endswith("(see docs/wandb.md)")
    assert not hasattr(tracker, name)  # also an AttributeError: code probing for a feature goes on


def test_sweep_as_a_user_meets_it():
    with pytest.raises(NotImplementedError, match="sweeps .*Optuna.*docs/wandb.md"):
        tracker.sweep({"method": "grid"}, project="p")


def test_an_unknown_name_is_a_plain_attribute_error():
    with pytest.raises(AttributeError, match="module 'tracker' has no attribute 'no_such_thing'") as caught:
        tracker.no_such_thing  # noqa: B018
    assert not isinstance(caught.value, NotImplementedError)


def test_no_supported_name_is_listed_as_unsupported():
    assert not set(WANDB_UNSUPPORTED) & set(tracker.__all__)
    for name in WANDB_UNSUPPORTED:
        assert name not in vars(tracker), name
