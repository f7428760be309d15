"""What `genocompile inspect` reports about a genotype's reference model: parameters and MultiAdds."""
from __future__ import annotations

from dataclasses import dataclass

from genocompile.cost.counting import AUX_PREFIXES, count_multiadds, count_params
from genocompile.genotype import Genotype, genotype_hash


@dataclass(frozen=True)
class ModelCosts:
    params: int
    multiadds: int
    multiadds_by_op: dict[str, int]  # fvcore operator kind (conv, batch_norm, linear, ...)
    multiadds_by_block: dict[str, int]  # genotype op name, or stem / preprocess / classifier ...
    unsupported_ops: dict[str, int]  # aten ops fvcore counted as zero, with occurrences
    multiadds_conv_linear: int  # conv + linear only, the convention of SPOS / DetNAS / ProxylessNAS tables

    def to_dict(self) -> dict:
        return {"params": self.params, "multiadds": self.multiadds,
                "multiadds_conv_linear": self.multiadds_conv_linear, "multiadds_by_op": self.multiadds_by_op,
                "multiadds_by_block": self.multiadds_by_block, "unsupported_ops": self.unsupported_ops}


_CACHE: dict[str, ModelCosts] = {}  # by genotype hash: searchers ask about the same genotype often


def reference_costs(genotype: Genotype) -> ModelCosts:
    """Parameters (auxiliary head excluded) and fvcore MultiAdds of the genotype's reference model at batch 1."""
    key = genotype_hash(genotype)
    if key not in _CACHE:
        _CACHE[key] = _count(genotype)
    return _CACHE[key]


def _count(genotype: Genotype) -> ModelCosts:
    from genocompile.models import build_reference

    model = build_reference(genotype, seed=0)
    counted = count_multiadds(model, (1, 3, *genotype.network.input_size))
    labels = model.block_labels() if hasattr(model, "block_labels") else {"": "model"}
    # Training-only modules (auxiliary heads / cells) are left out of published parameter counts.
    aux = tuple(getattr(model, "auxiliary_prefixes", AUX_PREFIXES))
    return ModelCosts(params=count_params(model, aux), multiadds=counted.total,
                      multiadds_conv_linear=counted.conv_linear,
                      multiadds_by_op=dict(sorted(counted.by_operator.items(), key=lambda kv: -kv[1])),
                      multiadds_by_block=dict(sorted(counted.by_label(labels).items(), key=lambda kv: -kv[1])),
                      unsupported_ops=counted.unsupported)


_FUSED_CACHE: dict[str, int] = {}


def fused_multiadds(genotype: Genotype) -> int:
    """fvcore MultiAdds (batch 1) of the compiled module: the default pipeline's graph (BN folded into convs,
    `none` ops and dead code removed) emitted by the torch emitter. Cached by genotype hash."""
    key = genotype_hash(genotype)
    if key not in _FUSED_CACHE:
        from genocompile.emit.torch import to_module
        from genocompile.ir import lower
        from genocompile.models import build_reference
        from genocompile.passes import optimize

        module = to_module(optimize(lower(genotype, build_reference(genotype, seed=0).state_dict())))
        _FUSED_CACHE[key] = count_multiadds(module, (1, 3, *genotype.network.input_size)).total
    return _FUSED_CACHE[key]
