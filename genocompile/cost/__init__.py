"""Cost models: parameter and MultiAdds counting (fvcore); latency models build on these."""
from genocompile.cost.counting import MultiAdds, count_multiadds, count_params
from genocompile.cost.inspect import ModelCosts, fused_multiadds, reference_costs

__all__ = ["ModelCosts", "MultiAdds", "count_multiadds", "count_params", "fused_multiadds", "reference_costs"]
