"""The runtime: confirms a clean lint by results (`fuselint run`, `fuselint confirm`).

Three parties, one folder each, so that a reader sees which code runs where:

- ``parent/``: fuselint's own process. `runner` starts the others, `sandbox` (and `limits`)
  confines the candidate's, `judge` compares outputs, `verdict` decides each stage and the
  verdict, `text`, `batch` and `memory` report. ``cli`` (argparse) is its entry.
- ``reference/``: the reference's process. The user's REF.py, the inputs of every trial, the
  expected outputs (written only after the candidate's process has ended), trusted timings.
- ``candidate/``: the candidate's process, in the sandbox, next to code nobody has read. It
  loads ModelNew, runs its forwards with the instruments on, and writes what they return, as
  data. Nothing it says is a verdict.
- ``common/``: what more than one party imports (tensor files, messages, loading, timing).

torch and triton are imported only when a run starts, never by ``fuselint check``.
"""
