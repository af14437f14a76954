"""Differential testing of fuselint's `fatal` against Triton's compiler (the oracle)."""
