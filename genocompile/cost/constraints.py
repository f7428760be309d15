"""Hard constraints on a genotype's *deploy* network, asked by every searcher through one object.

`Constraints(max_multiadds=..., max_params=..., max_latency_ms=..., latency=..., max_activation_bytes=...)`:
- `violations(g)` lists what `g` breaks, one readable line each (empty: feasible);
- `satisfies(g)` is `not violations(g)`;
- `penalty(g)` is the summed relative excess over the bounds (0 when feasible), for soft use;
- `costs(g)` the figures the bounds were checked on (also what journals record).

MultiAdds and params are counted with fvcore on the reference model (`genocompile.cost.inspect`).
Latency comes from a `LatencyModel` (anything with `predict_ms(genotype) -> float`, e.g. the cost-model
issue's calibrated LUT predictor or an end-to-end measurement); a latency bound without one is refused,
because silently ignoring a bound would return infeasible architectures. Peak activation memory is the
compiled deploy network's at batch 1, fp32, from the IR's shapes by a liveness walk
(`genocompile.cost.memory`).

Predictions screen candidates; the final say is a measurement. `measured(g)` returns `costs(g)` with
`latency_ms` measured end to end on the device (the latency model's `measure_ms`, e.g.
`LatencyPredictor.measure_ms`, or a `measure=` callable); a searcher checks its final candidates with
`satisfies(g, costs=constraints.measured(g))` and reports that figure.

`constraints_from_options(...)` builds the object from the CLI's options (`--max-latency-ms X --device D
--latency-model LUT.json`), loading and checking the table for the device.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

from genocompile.errors import CostModelError


class LatencyModel(Protocol):
    def predict_ms(self, genotype: Any) -> float: ...


@dataclass(frozen=True)
class Constraints:
    max_multiadds: int | None = None
    max_params: int | None = None
    max_latency_ms: float | None = None
    latency: LatencyModel | None = None
    max_activation_bytes: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_multiadds", "max_params", "max_latency_ms", "max_activation_bytes"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not value > 0):
                raise CostModelError(f"--{name.replace('_', '-')} must be a positive number, got {value!r}")
        if self.max_latency_ms is not None and self.latency is None:
            raise CostModelError("--max-latency-ms needs a latency model: pass --latency-model LUT.json "
                                 "(made by `genocompile profile`) for the device")

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.max_multiadds, self.max_params, self.max_latency_ms,
                                           self.max_activation_bytes))

    def costs(self, genotype: Any) -> dict[str, float]:
        """The deploy network's figures that the bounds are checked on (latency only with a latency model)."""
        from genocompile.cost.fast_count import fast_costs
        from genocompile.cost.inspect import reference_costs

        # DARTS networks: the exact closed-form count (equal to fvcore's, tested) in ~0.5 ms instead of ~1.5 s.
        fast = fast_costs(genotype)
        if fast is None:
            counted = reference_costs(genotype)
            fast = (counted.multiadds, counted.params)
        out: dict[str, float] = {"multiadds": fast[0], "params": fast[1]}
        if self.latency is not None:
            out["latency_ms"] = float(self.latency.predict_ms(genotype))
        if self.max_activation_bytes is not None:
            from genocompile.cost.memory import deploy_activation_bytes

            out["activation_bytes"] = deploy_activation_bytes(genotype)
        return out

    def measured(self, genotype: Any, measure: Callable[[Any], float] | None = None) -> dict[str, float]:
        """`costs(genotype)` with `latency_ms` measured end to end on the device (the final say over predictions)."""
        measure = measure or getattr(self.latency, "measure_ms", None)
        if measure is None:
            raise CostModelError("measuring latency needs a latency model that can measure (a LatencyPredictor "
                                 "from --latency-model) or a measure= callable")
        out = self.costs(genotype)
        out["latency_ms"] = float(measure(genotype))
        out["latency_measured"] = 1.0
        return out

    def _bounds(self) -> list[tuple[str, str, float]]:
        pairs = [("multiadds", "MultiAdds", self.max_multiadds), ("params", "params", self.max_params),
                 ("latency_ms", "latency (ms)", self.max_latency_ms),
                 ("activation_bytes", "peak activation bytes", self.max_activation_bytes)]
        return [(key, label, bound) for key, label, bound in pairs if bound is not None]

    def _complete(self, genotype: Any, costs: dict[str, float] | None) -> dict[str, float]:
        """The given costs (e.g. a driver's fast count), plus the activation figure when they lack it."""
        if costs is None:
            return self.costs(genotype)
        if self.max_activation_bytes is not None and "activation_bytes" not in costs:
            from genocompile.cost.memory import deploy_activation_bytes

            costs = {**costs, "activation_bytes": deploy_activation_bytes(genotype)}
        return costs

    def violations(self, genotype: Any, costs: dict[str, float] | None = None) -> list[str]:
        if not self.active:
            return []
        costs = self._complete(genotype, costs)
        return [f"{label} {costs[key]:,.4g} over the limit {bound:,.4g}"
                for key, label, bound in self._bounds() if costs[key] > bound]

    def satisfies(self, genotype: Any, costs: dict[str, float] | None = None) -> bool:
        return not self.violations(genotype, costs)

    def penalty(self, genotype: Any, costs: dict[str, float] | None = None) -> float:
        """Sum over the bounds of max(0, value / bound - 1): 0 when feasible, grows with the excess."""
        if not self.active:
            return 0.0
        costs = self._complete(genotype, costs)
        return sum(max(0.0, costs[key] / bound - 1.0) for key, _, bound in self._bounds())

    def describe(self) -> str:
        parts = [f"{label} <= {bound:,.4g}" for _, label, bound in self._bounds()]
        return ", ".join(parts) if parts else "none"


def constraints_from_options(max_multiadds: int | None = None, max_params: int | None = None,
                             max_latency_ms: float | None = None, latency_model: str | None = None,
                             device: str = "cpu", max_activation_bytes: int | None = None) -> Constraints:
    """The Constraints the CLI's options describe; `--latency-model LUT.json` is loaded and checked for `device`
    (a table from another device or other library versions is refused)."""
    latency = None
    if latency_model is not None:
        from genocompile.cost.predictor import LatencyPredictor

        latency = LatencyPredictor.from_file(latency_model, device)
    elif max_latency_ms is not None:
        raise CostModelError(f"--max-latency-ms needs --latency-model LUT.json for --device {device}: make one with "
                             f"`genocompile profile --space SPACE --device {device} --out LUT.json`")
    return Constraints(max_multiadds=max_multiadds, max_params=max_params, max_latency_ms=max_latency_ms,
                       latency=latency, max_activation_bytes=max_activation_bytes)
