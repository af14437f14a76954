"""The reference's process (`process`): the user's REF.py, the inputs of every trial, the
expected outputs, and the trusted timings (the device copy, the reference itself, the cost of
the timing loop). It holds the expected outputs in its memory until the candidate's process has
ended, and only then writes them for fuselint to read."""
