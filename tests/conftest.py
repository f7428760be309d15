import os
import sys

# The suite runs on a shared 2-core machine: OpenMP workers spinning against other processes make the
# small-tensor ops of these tests 10-20x slower (measured: the pass-parity sweep 59 s -> 2.4 s). One
# intra-op thread keeps the suite fast and stable; it is inherited by the subprocesses tests start.
os.environ.setdefault("OMP_NUM_THREADS", "1")

sys.path.insert(0, os.path.dirname(__file__))  # test helpers (oracles, factories) import by bare name
