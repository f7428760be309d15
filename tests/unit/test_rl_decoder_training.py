"""How the decoder search trains a candidate: auxiliary cells in the loss (and their gradients), knowledge
distillation, Polyak averaging, the segmentation reward, and the early-stopping gate between the stages."""
import pytest
import torch

from genocompile.data.metrics import frequency_weighted_iou
from genocompile.genotype import zoo_genotype
from genocompile.models import build_reference
from genocompile.searchers.rl.decoder_evaluation import DecoderEvaluator, DecoderProxySettings, train_teacher
from genocompile.searchers.rl.early_stop import EarlyStopGate
from genocompile.searchers.rl.reward import RewardShaping
from genocompile.searchers.rl.segmentation_training import (evaluate, kd_loss, nas_segm_reward, polyak,
                                                           segmentation_loss)

TINY = DecoderProxySettings(train=16, valid=8, batch_size=4, stage1_steps=2, stage2_steps=2, teacher_steps=2,
                            agg=8, teacher_agg=8)


def test_kd_loss_is_zero_for_the_teacher_own_logits_and_positive_otherwise():
    torch.manual_seed(0)
    teacher = torch.randn(2, 4, 8, 8)
    assert kd_loss(teacher.clone(), teacher).abs() < 1e-6
    assert kd_loss(teacher + 5.0, teacher).abs() < 1e-5  # a shift of every class's logit: the same distribution
    assert kd_loss(torch.randn(2, 4, 8, 8), teacher) > 0.05
    assert kd_loss(torch.randn(2, 4, 8, 8), teacher, temperature=2.0) > 0


def test_aux_cells_are_in_the_training_loss_and_their_heads_get_gradients():
    g = TINY.proxy(zoo_genotype("nekrasov_arch1"))
    model = build_reference(g, seed=0).train()
    x, y = torch.randn(2, 3, 32, 32), torch.randint(0, TINY.classes, (2, 32, 32))
    parts = segmentation_loss(model, x, y, torch.randn(2, TINY.classes, 32, 32), aux_weight=0.4, kd_weight=0.5)
    assert set(parts) == {"ce", "aux", "kd", "loss"} and parts["aux"] > 0
    assert torch.allclose(parts["loss"], parts["ce"] + 0.4 * parts["aux"] + 0.5 * parts["kd"])
    parts["loss"].backward()
    for head in model.decoder.aux_clfs:  # the auxiliary cell and its classifier, per decoder block
        assert head.aux_clf.weight.grad.abs().sum() > 0
        assert sum(p.grad.abs().sum() for p in head.aux_cell.parameters() if p.grad is not None) > 0
    model.zero_grad()
    no_aux = segmentation_loss(model, x, y, None, aux_weight=0.0, kd_weight=0.5)
    assert "kd" not in no_aux and torch.allclose(no_aux["loss"], no_aux["ce"])


def test_polyak_average_is_the_hand_computed_ema():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    averaged = polyak(net, decay=0.8)
    expected = {}
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    for step in range(4):
        net.train()
        loss = net(torch.randn(5, 3)).pow(2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        averaged.update_parameters(net)
        for k, v in net.state_dict().items():
            if v.is_floating_point():  # torch's EMA starts from the weights of the first update
                expected[k] = v.detach().clone() if step == 0 else 0.8 * expected[k] + 0.2 * v.detach()
    got = averaged.module.state_dict()
    for k, v in expected.items():
        assert torch.allclose(got[k], v, atol=1e-6), k
    assert not torch.allclose(got["0.weight"], net.state_dict()["0.weight"])  # an average, not a copy


def test_reward_is_nas_segm_geometric_mean_over_the_foreground_classes():
    # rows = label, columns = prediction; class 0 is background and is left out of the reward
    confusion = torch.tensor([[50, 2, 3], [4, 8, 0], [1, 1, 6]])
    iou1, iou2 = 8 / (12 + 11 - 8), 6 / (8 + 9 - 6)
    acc1, acc2 = 8 / 12, 6 / 8
    fw = (iou1 * 12 + iou2 * 8) / 20
    r = nas_segm_reward(confusion)
    assert r["fg_miou"] == pytest.approx((iou1 + iou2) / 2) and r["fg_macc"] == pytest.approx((acc1 + acc2) / 2)
    assert r["fg_fwiou"] == pytest.approx(fw)
    assert r["reward"] == pytest.approx(((iou1 + iou2) / 2 * (acc1 + acc2) / 2 * fw) ** (1 / 3))
    all_background = torch.tensor([[50, 0, 0], [12, 0, 0], [8, 0, 0]])
    assert nas_segm_reward(all_background)["reward"] == 0.0  # 70% pixel accuracy, but nothing found
    assert frequency_weighted_iou(confusion) > 0
    g = TINY.proxy(zoo_genotype("nekrasov_arch0"))
    model = build_reference(g, seed=0)
    x, y = torch.randn(4, 3, 32, 32), torch.randint(0, TINY.classes, (4, 32, 32))
    m = evaluate(model, x, y, TINY.classes)
    assert m["reward"] == pytest.approx((m["fg_miou"] * m["fg_macc"] * m["fg_fwiou"]) ** (1 / 3))


def _evaluator(tmp_path, gate):
    teacher = train_teacher(tmp_path, TINY, seed=0)
    return DecoderEvaluator(TINY, str(teacher), RewardShaping(), None, gate, seed=0)


def test_teacher_is_trained_once_per_directory(tmp_path):
    path = train_teacher(tmp_path, TINY, seed=0)
    stamp = path.stat().st_mtime_ns
    assert train_teacher(tmp_path, TINY, seed=0) == path and path.stat().st_mtime_ns == stamp
    teacher = torch.load(path, weights_only=True)
    assert teacher["logits"].shape == (16, TINY.classes, 32, 32) and 0 <= teacher["figures"]["miou"] <= 1


def test_the_gate_stops_a_candidate_below_the_average_after_stage_one(tmp_path):
    g = zoo_genotype("nekrasov_arch2")
    full = _evaluator(tmp_path, EarlyStopGate(enabled=True))(g)  # no average yet: trains both stages
    assert not full.metrics["stopped_early"] and full.metrics["steps_run"] == 4
    high = EarlyStopGate(p0=0.0, enabled=True)  # p = 0: every below-average candidate stops
    high.observe(2.0)  # an average no reward reaches
    stopped = _evaluator(tmp_path, high)(g)
    assert stopped.metrics["stopped_early"] and stopped.metrics["steps_run"] == 2
    assert stopped.fitness == stopped.metrics["early_reward"] == pytest.approx(full.metrics["early_reward"])
    low = EarlyStopGate(p0=0.0, enabled=True)
    low.observe(-1.0)  # every reward is above this average: no stop
    assert not _evaluator(tmp_path, low)(g).metrics["stopped_early"]


def test_pretrained_encoder_weights_from_a_local_file_start_the_teacher(tmp_path):
    from dataclasses import replace

    from genocompile.models.mobilenetv2 import MobileNetV2Encoder

    torch.manual_seed(3)
    encoder = MobileNetV2Encoder()
    torch.save(encoder.state_dict(), tmp_path / "mobilenetv2.pt")
    path = train_teacher(tmp_path / "dir", replace(TINY, teacher_steps=0), seed=0,
                         encoder_weights=str(tmp_path / "mobilenetv2.pt"))
    state = torch.load(path, weights_only=True)["encoder"]
    assert all(torch.equal(state[k], v) for k, v in encoder.state_dict().items())  # no step taken: as loaded


def test_missing_encoder_weights_are_a_one_line_error(tmp_path, capsys):
    from genocompile.cli.main import main

    assert main(["search", "--searcher", "rl", "--space", "nas-segm", "--budget", "1", "--out", str(tmp_path),
                 "--encoder-weights", str(tmp_path / "missing.pt")]) != 0
    assert "no checkpoint file at" in capsys.readouterr().err
