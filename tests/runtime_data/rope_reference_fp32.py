"""examples/rope_reference.py in float32 at a size the interpreter runs in seconds."""
import importlib.util
from pathlib import Path

import torch

_spec = importlib.util.spec_from_file_location(
    "_rope_reference", Path(__file__).resolve().parents[2] / "examples" / "rope_reference.py")
_rope = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_rope)
Model = _rope.Model

BATCH, HEADS, SEQ_LEN, HEAD_DIM = 2, 3, 10, 32
MAX_POSITIONS = 16


def get_inputs():
    q = torch.randn(BATCH, HEADS, SEQ_LEN, HEAD_DIM)
    k = torch.randn(BATCH, HEADS, SEQ_LEN, HEAD_DIM)
    cos, sin = _rope.rope_tables(MAX_POSITIONS, HEAD_DIM, torch.float32)
    return [q, k, cos, sin]


def get_init_inputs():
    return []
