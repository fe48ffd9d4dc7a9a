"""Reproducibility: one call seeds every generator and makes PyTorch deterministic on the CPU."""
from __future__ import annotations

import os
import random

import numpy as np
import torch


def set_determinism(seed: int, threads: int = 1) -> None:
    """Seed python, numpy and torch; deterministic kernels; a fixed thread count (results depend on it)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
