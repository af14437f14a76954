"""Guarded runs (`fuselint run --sanitize`): on this CPU machine the kernels run under Triton's
interpreter, where both the guard bytes and the per-lane address check are live."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuselint.runtime.parent.runner import Options, run_candidate

pytest.importorskip("torch")
DATA = Path(__file__).parent / "runtime_data"
REFERENCE = str(DATA / "axpy_reference.py")


def _sanitized(kernel: str) -> dict:
    options = Options(trials=1, speed=False, children=("run",), sanitize=True, timeout=300)
    return run_candidate(str(DATA / kernel), REFERENCE, options)


@pytest.mark.parametrize("kernel, side, elements", [
    ("bad/writes_past_end.py", "past the end", [4000, 4095]),
    ("bad/writes_before_start.py", "before the start", [-1, -1]),
])
def test_out_of_bounds_writes_are_caught(kernel, side, elements):
    report = _sanitized(kernel)
    violations = report["sanitize"]["violations"]
    assert report["verdict"] == "fail"
    by_how = {v["how"]: v for v in violations}
    # the address check names the store's line; the guard bytes confirm the bytes changed
    assert set(by_how) == {"tl.store", "guard bytes changed"}
    for v in violations:
        assert (v["kernel"], v["argument"], v["side"], v["elements"]) == ("axpy_kernel", "out_ptr", side, elements)
    assert by_how["tl.store"]["line"] == 15


def test_clean_kernel_stays_clean():
    report = _sanitized("good/axpy.py")
    assert report["sanitize"]["status"] == "pass"
    assert report["sanitize"]["violations"] == [] and report["sanitize"]["launches"] >= 1
    assert report["verdict"] == "pass"


def test_sanitize_is_on_by_default_in_confirm_only():
    from fuselint.runtime import cli
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    cli.register(sub)
    run = parser.parse_args(["run", "k.py", "--reference", "r.py"])
    confirm = parser.parse_args(["confirm", "k.py", "--reference", "r.py"])
    off = parser.parse_args(["confirm", "k.py", "--reference", "r.py", "--no-sanitize"])
    assert not cli._options(run).sanitize
    assert cli._options(confirm).sanitize
    assert not cli._options(off).sanitize


def test_confirm_sets_static_beside_dynamic_per_line(tmp_path):
    from fuselint.runtime.parent.memory import memory_agreement

    kernel = str(tmp_path / "k.py")
    lint = [{"code": "FL403", "path": kernel, "line": 15}, {"code": "FL401", "path": kernel, "line": 30},
            {"code": "FL004", "path": kernel, "line": 40}]
    section = {"violations": [{"line": 15, "detail": "read past the end"}, {"line": 22, "detail": "write before the start"},
                              {"line": None, "detail": "guard bytes changed"}]}
    rows = {r["line"]: r["verdict"] for r in memory_agreement(lint, section, kernel)["rows"]}
    assert rows == {15: "confirmed", 22: "shown only by the run (a static miss)", 30: "flagged, not shown by this run"}
    assert memory_agreement(lint, section, kernel)["guard_only"] == ["guard bytes changed"]
