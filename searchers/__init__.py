"""Searchers (installed as `genocompile.searchers`): gradient (DARTS, Auto-DeepLab), evolution
(regularized EA, one-shot supernet EA) and RL (controller with REINFORCE / PPO). They speak genotypes
and cost models only, never emitters."""
