"""Verdict: sys.exit(0) while the file is imported (issue #15): no ModelNew ever runs."""
import sys

sys.exit(0)
