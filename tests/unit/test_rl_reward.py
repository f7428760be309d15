"""MnasNet reward shaping and the progressive early-stopping gate."""
import pytest

from genocompile.errors import SearchError
from genocompile.searchers.rl.early_stop import EarlyStopGate, coin, saved_compute
from genocompile.searchers.rl.reward import RewardShaping


def test_soft_regime_trades_accuracy_for_cost_smoothly():
    shape = RewardShaping(cost="multiadds", target=100.0, regime="soft")
    assert shape(0.8, {"multiadds": 100.0}) == pytest.approx(0.8)
    assert shape(0.8, {"multiadds": 200.0}) == pytest.approx(0.8 * 2 ** -0.07)
    assert shape(0.8, {"multiadds": 50.0}) == pytest.approx(0.8 * 0.5 ** -0.07)  # cheaper: a little more reward


def test_hard_regime_is_flat_under_the_target_and_steep_over_it():
    shape = RewardShaping(cost="latency_ms", target=10.0, regime="hard")
    assert shape(0.8, {"latency_ms": 5.0}) == pytest.approx(0.8)
    assert shape(0.8, {"latency_ms": 20.0}) == pytest.approx(0.4)


def test_no_target_means_accuracy_and_bad_settings_are_refused():
    assert RewardShaping()(0.7, {}) == 0.7
    with pytest.raises(SearchError, match="soft, hard"):
        RewardShaping(regime="medium")
    with pytest.raises(SearchError, match="latency-model"):
        RewardShaping(cost="latency_ms", target=1.0)(0.5, {"multiadds": 1})


def test_gate_stops_below_average_candidates_with_probability_one_minus_p():
    gate = EarlyStopGate(p0=0.5, decay=1.0)
    assert not gate.should_stop(0.0, 0.99)  # no average yet: never stop
    gate.observe(0.6)
    gate.observe(0.4)
    assert gate.average == pytest.approx(0.5)
    assert not gate.should_stop(0.7, 0.99)  # above average: always continue
    assert gate.should_stop(0.3, 0.7) and not gate.should_stop(0.3, 0.2)  # below: stop when coin >= p
    coins = [coin(f"g{i}", 0) for i in range(2000)]
    stopped = sum(gate.should_stop(0.3, c) for c in coins) / len(coins)
    assert stopped == pytest.approx(1 - gate.p, abs=0.05)


def test_p_decays_so_the_gate_stops_more_as_the_average_settles():
    gate = EarlyStopGate(p0=1.0, decay=0.9)
    assert gate.p == 1.0
    for _ in range(10):
        gate.observe(0.5)
    assert gate.p == pytest.approx(0.9 ** 10)


def test_saved_compute_counts_the_epochs_not_run():
    metrics = [{"epochs_run": 1, "epochs_full": 4, "stopped_early": True}, {"epochs_run": 4, "epochs_full": 4}]
    assert saved_compute(metrics) == {"stopped_early": 1, "epochs_run": 5, "epochs_full": 8,
                                      "saved_fraction": pytest.approx(3 / 8)}
