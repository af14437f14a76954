"""fuselint's `fatal` against Triton's compiler on a sample of mutants (CI), and against the
source-visible cases of Triton's own compile-error tests.

The oracle is the installed Triton compiling for sm_89 on CPU (no GPU needed); fuselint's
prediction is a fatal finding inside the kernel. The full run (every seed, and Triton 3.6 in
another environment) is benchmarks/compile_oracle.py; its tables are in docs/compile_oracle.md.
Set FL_TRITON36=/path/to/python (a CPU venv with triton==3.6.0) to run the sample with 3.6 too.
"""

from __future__ import annotations

import os

import pytest

pytest.importorskip("triton")

from compile_oracle import harness  # noqa: E402
from compile_oracle.operators import OPERATORS  # noqa: E402
from compile_oracle.report import KNOWN_CAUSES, disagreement_list  # noqa: E402
from compile_oracle.triton_cases import CAUSES  # noqa: E402


def _sample(python=None):
    """Every error operator on every usable seed of the first two per origin (they fail in the
    front end: cheap); the look-alikes, which go through the whole compile, on one seed."""
    seeds = harness.seed_cases(limit_per_origin=2)
    version = harness.compile_all(seeds, **({"python": python} if python else {}))
    usable = harness.usable_seeds(seeds, version)
    errors = [o for o in OPERATORS if o.intent != "look-alike"]
    look_alikes = [o for o in OPERATORS if o.intent == "look-alike"]
    mutants = harness.mutant_cases(usable, errors) + harness.mutant_cases(usable[:1], look_alikes)
    harness.compile_all(mutants, **({"python": python} if python else {}))
    return version, seeds, usable, mutants


@pytest.fixture(scope="module")
def sample():
    return _sample()


def test_seeds_get_a_verdict_and_some_compile(sample):
    version, seeds, usable, _ = sample
    assert all(c.verdicts[version]["verdict"] in ("compiles", "rejected") for c in seeds)
    assert len(usable) >= 3
    assert {s.origin for s in usable} >= {"liger-kernel", "flag-gems"}


def test_every_operator_is_applied(sample):
    _, _, _, mutants = sample
    assert len(mutants) >= 100
    # every operator that adds code; the in-place ones apply only to kernels with such code
    assert {c.operator.name for c in mutants} >= {o.name for o in OPERATORS if not o.rewrite}
    assert any(c.operator.rewrite for c in mutants)


def test_no_fatal_prediction_on_a_kernel_that_compiles(sample):
    version, _, _, mutants = sample
    false_fatal = [(c.operator.name, c.seed.path, c.seed.kernel, c.codes) for c in mutants
                   if c.predicted and c.verdicts[version]["verdict"] == "compiles"]
    assert false_fatal == []


def test_rejected_mutants_are_predicted_fatal(sample):
    version, _, _, mutants = sample
    row = harness.confusion(mutants, version)["all"]
    assert row["tp"] + row["fn"] >= 50
    assert row["tp"] / (row["tp"] + row["fn"]) >= 0.95


def test_every_disagreement_has_a_known_cause(sample):
    version, _, _, mutants = sample
    _, unexplained = disagreement_list(mutants, [version])
    assert unexplained == []


@pytest.mark.skipif(not os.environ.get("FL_TRITON36"), reason="set FL_TRITON36 to a python with triton 3.6")
def test_triton36_disagreements_are_the_version_differences():
    version, _, _, mutants = _sample(os.environ["FL_TRITON36"])
    assert version.startswith("3.6")
    assert not [c for c in mutants if c.predicted and c.verdicts[version]["verdict"] == "compiles"]
    _, unexplained = disagreement_list(mutants, [version])
    assert unexplained == []
    assert {op for op, v in KNOWN_CAUSES if v == version} <= {c.operator.name for c in harness.disagreements(mutants, version)}


def test_triton_own_compile_error_cases():
    cases = harness.triton_test_cases()
    version = harness.compile_all(cases, workers=1)
    false_fatal = [c.operator.name for c in cases if c.predicted and c.verdicts[version]["verdict"] == "compiles"]
    assert false_fatal == []
    missed = {c.operator.name for c in cases if not c.predicted and c.verdicts[version]["verdict"] == "rejected"}
    assert missed <= set(CAUSES), f"missed without a recorded cause: {missed - set(CAUSES)}"
    caught = [c for c in cases if c.predicted]
    assert len(caught) >= 6  # undefined names, globals, power-of-two shapes, the nested-call case


def test_front_end_example_reports_every_error_at_once():
    """examples/bad/front_end_compile_errors.py: five different front-end errors, each fatal,
    and a chained comparison that only Triton 3.6 rejects, reported as a warning."""
    from conftest import ROOT

    from fuselint.config import Settings
    from fuselint.engine import lint_paths

    findings = lint_paths([ROOT / "examples" / "bad" / "front_end_compile_errors.py"], Settings(), jobs=1).findings
    fatal = {f.code for f in findings if f.fatal}
    assert {"FL007", "FL011", "FL012", "FL013", "FL014"} <= fatal
    assert [f.line for f in findings if f.code == "FL012" and not f.fatal] == [18]
