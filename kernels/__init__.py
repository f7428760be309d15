"""Fast kernels (installed as `genocompile.kernels`): Triton/CUDA implementations of fused patterns,
each with a torch reference and a CPU fallback. Nothing here imports back into the pipeline."""
