import os
import sys

# One intra-op thread: the test machine's two cores are shared, and OpenMP threads that spin while another
# process holds a core make small convolutions 100x slower. setdefault: a caller's choice wins; subprocesses
# (CLI tests) inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")

sys.path.insert(0, os.path.dirname(__file__))  # test helpers (oracles, factories) import by bare name
