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


def test_uniform_sampling_trains_every_op_of_every_choice_block():
    """Over a few hundred sampled paths every op module of every choice block of every cell runs (SPOS: uniform
    sampling trains every shared weight; the supernet holds no weights that no path uses), and each forward
    runs exactly one op per node input."""
    torch.manual_seed(0)
    model = build_supernet(SPACE, TINY, 10)
    blocks = {f"{i}.{key}.{op}": module for i, cell in enumerate(model.cells) for key, ops in cell.edges.items()
              for op, module in ops.items()}
    ran_now, ran = set(), set()
    for name, module in blocks.items():
        module.register_forward_hook(lambda m, args, out, name=name: ran_now.add(name))
    rng, x = random.Random(0), data().train_x[:2]
    with torch.no_grad():
        for _ in range(200):
            model.path = SPACE.sample(rng)
            ran_now.clear()
            model(x)
            assert len(ran_now) == 3 * 8  # 4 nodes x 2 inputs in each of the 3 cells
            ran |= ran_now
    assert ran == set(blocks), f"never trained: {sorted(set(blocks) - ran)[:5]}"


def test_recalibration_forgets_the_statistics_it_replaces():
    """Whatever the running statistics held before (here: garbage), recalibration gives the same exact averages:
    they are reset, not blended (momentum None is a cumulative average over the recalibration batches only)."""
    torch.manual_seed(0)
    model = build_supernet(SPACE, TINY, 10)
    model.path = SPACE.sample(random.Random(1))
    recalibrate_bn(model, data(), TINY.recalibration_batches, TINY.batch_size)
    clean = bn_stats(model)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.fill_(100.0)
            m.running_var.fill_(1e-3)
            m.num_batches_tracked.fill_(1000)
    recalibrate_bn(model, data(), TINY.recalibration_batches, TINY.batch_size)
    for name, (mean, var) in bn_stats(model).items():
        assert torch.allclose(mean, clean[name][0]) and torch.allclose(var, clean[name][1]), name
