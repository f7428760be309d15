"""Fast kernels (installed as `genocompile.kernels`): Triton implementations of fused patterns, each with a
torch reference it is tested against (on a GPU, or in Triton's CPU interpreter in CI). `registry.find_kernel`
says which kernel runs a pattern on a device and dtype, None meaning the plain torch path. Nothing here
imports back into the pipeline."""
