"""FitConfig: one frozen settings object for `fit`, defaults in one place, unknown options an error."""
from __future__ import annotations

import dataclasses
import inspect
import json

import pytest

from spherecodes.train.config import FitConfig


def test_unknown_option_raises_and_names_it():
    with pytest.raises(TypeError, match=r"'epoch'.*did you mean 'epochs'"):
        FitConfig.from_options(epoch=3)
    with pytest.raises(TypeError, match="unknown fit option"):
        FitConfig.from_options({"tau": 0.1, "temprature": 0.2})


def test_fit_rejects_unknown_option_before_training():
    from spherecodes.train.data import synthetic_classes
    from spherecodes.train.loop import fit

    data = synthetic_classes(4, input_dim=4, n_train=2, n_test=1, seed=0)
    with pytest.raises(TypeError, match="learning_rate"):
        fit(data, learning_rate=0.1, device="cpu")


def test_frozen_defaults_and_override():
    cfg = FitConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.tau = 1.0
    # the defaults live in the dataclass only: fit's signature carries none of them
    from spherecodes.train.loop import fit

    fields = {f.name for f in dataclasses.fields(FitConfig)}
    assert not fields & set(inspect.signature(fit).parameters)
    base = FitConfig(tau=0.01, epochs=5)
    over = FitConfig.from_options(base, epochs=7)
    assert (over.tau, over.epochs, base.epochs) == (0.01, 7, 5)
    assert FitConfig.from_options(base.asdict()) == base


@pytest.mark.parametrize("option, value, error", [
    ("tau", 0.0, ValueError), ("epochs", 0, ValueError), ("optimizer", "lbfgs", ValueError),
    ("encoder", "vit", ValueError), ("cmf_momentum", 1.0, ValueError), ("amp", "yes", TypeError),
    ("lr", "fast", TypeError), ("feature_dim", 2.5, TypeError),
])
def test_bad_values_name_the_option(option, value, error):
    with pytest.raises(error, match=option):
        FitConfig(**{option: value})


def test_learning_rate_default_resolved():
    assert FitConfig().learning_rate == 1e-2
    assert FitConfig(encoder="resnet18").learning_rate == 1e-3
    assert FitConfig(optimizer="sgd").learning_rate == 0.05
    assert FitConfig(lr=0.3).learning_rate == 0.3


def test_asdict_is_what_the_run_saves(tmp_path):
    import torch

    from spherecodes.train.data import synthetic_classes
    from spherecodes.train.loop import fit

    torch.set_num_threads(1)
    data = synthetic_classes(5, input_dim=6, n_train=4, n_test=2, seed=0)
    cfg = FitConfig(feature_dim=2, epochs=1, tau=0.5, assignment=None)
    r = fit(data, cfg, seed=0, device="cpu", out_dir=tmp_path, plot=False)
    saved = json.loads((tmp_path / "history.json").read_text())["config"]
    expected = json.loads(json.dumps(cfg.asdict()))
    expected["lr"] = cfg.learning_rate
    assert {k: saved[k] for k in expected} == expected
    ck = torch.load(tmp_path / "checkpoint_last.pt", weights_only=True)
    assert {k: ck["config"][k] for k in expected} == {k: saved[k] for k in expected}
    assert r.settings == cfg


@pytest.mark.parametrize("option, value, error, match", [
    ("assignment", (0, 1.5, 2), TypeError, r"assignment\[1\] must be an integer"),   # was int(1.5) = 1
    ("assignment", (0, True), TypeError, r"assignment\[1\] must be an integer"),
    ("assignment", 3, TypeError, "assignment must be a sequence of integers"),
    ("assignment", (0, -1), ValueError, r"assignment\[1\] must be >= 0"),
    ("tau", "0.1", TypeError, "tau must be a real number"),
    ("tau", float("inf"), ValueError, "tau must be finite and > 0"),
    ("weight_decay", -1e-4, ValueError, "weight_decay must be finite and >= 0"),
    ("augment", "yes", TypeError, "augment must be True or False"),
])
def test_values_checked_by_the_validation_helpers(option, value, error, match):
    with pytest.raises(error, match=match):
        FitConfig(**{option: value})
    assert FitConfig(assignment=(2.0, 0, 1)).assignment == (2, 0, 1)      # integer-valued floats still fine
