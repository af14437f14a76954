"""The runtime: confirms a clean lint by results (`fuselint run`, `fuselint confirm`).

The only part of fuselint that imports torch and triton, and only in the child
processes that run a candidate. Parent side (no torch): ``cli`` (argparse
subcommands), ``runner`` (one candidate: two children under timeouts),
``batch``, ``text`` (tables). Child side: ``child`` (entry point, partial
reports), ``candidate`` (loading a KernelBench pair, inputs, CUDA-on-CPU),
``launches`` (intercepting and counting Triton launches), ``compile_stage``,
``run_stage`` and ``checks`` (correctness), ``speed``, ``interpreter_fixes``.
"""
