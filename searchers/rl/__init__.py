"""RL search (`--searcher rl`): a NASNet-style LSTM controller trained with REINFORCE or PPO.

controller.py  the LSTM that writes a genotype decision by decision (any space listing its decisions)
policy.py      REINFORCE (EMA baseline) and PPO (clipped surrogate), a registry keyed by --rl-algo
reward.py      MnasNet reward shaping (soft / hard regimes) by MultiAdds, params or latency
early_stop.py  progressive early stopping (auxiliary-cell paper): the gate and the saved compute
searcher.py    the ask/tell searcher: rejections as penalties, reused rewards, JSON state for resume
evaluation.py  the framework's proxy training in two stages, the shaped reward as the fitness
run.py         `@register_searcher("rl")`: options, wiring into the driver, the summary
plot.py        DIR/reward_curve.png
synthetic.py   a task whose best cell is known (tests and benchmarks)
update_store.py        DIR/rl_state: controller weights and reward history once per policy update

The decoder search (`--space nas-segm`, the auxiliary-cell paper):
decoder_space.py       the decoder layout as decisions in nas-segm's order (with sample, mutate, crossover)
segmentation_training.py  CE + auxiliary-cell CE + KD loss, Polyak (EMA) averaging, the mIoU-based reward
decoder_evaluation.py  two-stage training with the early-stop gate, the teacher trained once per DIR
decoder_run.py         its wiring into the driver (registered in run.FAMILY_RUNS)
"""
