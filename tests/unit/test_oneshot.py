"""One-shot evaluation: the supernet runs any path of the space, BatchNorm recalibration replaces the running
statistics, the supernet is trained once per DIR (a rerun reuses the checkpoint), and evaluation is
deterministic."""
import random

import torch
from torch import nn

from genocompile.searchers.evaluation import proxy_data
from genocompile.searchers.oneshot import (OneShotEvaluator, OneShotSettings, build_supernet, recalibrate_bn,
                                           train_supernet)
from genocompile.searchers.spaces import get_space

SPACE = get_space("darts-cifar")
TINY = OneShotSettings(init_channels=4, layers=3, input_size=8, epochs=1, batch_size=32, recalibration_batches=2,
                       train_subset=128, valid_subset=64)


def data():
    return proxy_data(None, TINY.input_size, TINY.train_subset, TINY.valid_subset)


def bn_stats(model):
    return {name: (m.running_mean.clone(), m.running_var.clone()) for name, m in model.named_modules()
            if isinstance(m, nn.BatchNorm2d)}


def test_recalibration_replaces_the_running_statistics_of_the_path():
    torch.manual_seed(0)
    model = build_supernet(SPACE, TINY, 10)
    model.path = SPACE.sample(random.Random(0))
    before = bn_stats(model)
    recalibrate_bn(model, data(), TINY.recalibration_batches, TINY.batch_size)
    after = bn_stats(model)
    changed = [n for n in before if not torch.equal(before[n][0], after[n][0])]
    assert "stem.1" in changed and len(changed) > 5
    assert not model.training
    # the exact statistics of the recalibration batches, not an exponential average from the defaults
    x = data().train_x[:TINY.recalibration_batches * TINY.batch_size]
    stem_out = model.stem[0](x)
    assert torch.allclose(after["stem.1"][0], stem_out.mean((0, 2, 3)), atol=1e-5)
    # momentum is restored for later training
    assert all(m.momentum == 0.1 for m in model.modules() if isinstance(m, nn.BatchNorm2d))


def test_supernet_trains_once_and_evaluation_is_deterministic(tmp_path):
    messages = []
    path = train_supernet(SPACE, None, 0, TINY, tmp_path, messages.append)
    assert len(messages) == 1 and "supernet epoch 1/1" in messages[0]
    mtime = path.stat().st_mtime_ns
    assert train_supernet(SPACE, None, 0, TINY, tmp_path, messages.append) == path
    assert len(messages) == 1 and path.stat().st_mtime_ns == mtime  # a rerun does not retrain
    evaluator = OneShotEvaluator(SPACE.name, str(path), None, TINY)
    rng = random.Random(3)
    a, b = SPACE.sample(rng), SPACE.sample(rng)
    ra, rb, ra2 = evaluator(a), evaluator(b), evaluator(a)
    assert ra.fitness == ra2.fitness and 0.0 <= ra.fitness <= 1.0 and 0.0 <= rb.fitness <= 1.0


def test_interrupted_supernet_training_resumes_to_the_same_weights(tmp_path, monkeypatch):
    import genocompile.searchers.oneshot as oneshot

    two = OneShotSettings(**{**TINY.__dict__, "epochs": 2})
    straight = torch.load(train_supernet(SPACE, None, 0, two, tmp_path / "a"), weights_only=False)
    save = oneshot.save_torch

    def save_then_die(obj, path):  # the process is killed right after the first epoch's checkpoint
        save(obj, path)
        raise SystemExit("killed")

    monkeypatch.setattr(oneshot, "save_torch", save_then_die)
    try:
        train_supernet(SPACE, None, 0, two, tmp_path / "b")
    except SystemExit:
        pass
    monkeypatch.setattr(oneshot, "save_torch", save)
    assert torch.load(tmp_path / "b" / "supernet.pt", weights_only=False)["epoch"] == 1
    messages = []
    resumed = torch.load(train_supernet(SPACE, None, 0, two, tmp_path / "b", messages.append), weights_only=False)
    assert [m.split(":")[0] for m in messages] == ["supernet epoch 2/2"]
    for key, value in straight["model"].items():
        assert torch.equal(value, resumed["model"][key]), key
