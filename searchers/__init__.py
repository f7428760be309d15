"""Searchers (installed as `genocompile.searchers`): gradient (DARTS, Auto-DeepLab), evolution
(regularized EA, one-shot supernet EA) and RL (controller with REINFORCE / PPO). They speak genotypes
and cost models only, never emitters."""

# Each searcher and space module registers itself on import (`get_searcher` / `get_space` import this package).
from genocompile.searchers import spaces  # noqa: E402,F401
from genocompile.searchers import chain_space  # noqa: E402,F401
from genocompile.searchers import evolution_run  # noqa: E402,F401
from genocompile.searchers.rl import run as rl_run  # noqa: E402,F401
from genocompile.searchers import gradient  # noqa: E402,F401
from genocompile.searchers.rl import decoder_run  # noqa: E402,F401  (the decoder space and its RL wiring)
