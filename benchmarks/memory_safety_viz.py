"""Run one KernelBench candidate under triton-viz's sanitizer: caught or clean, and the time
(docs/memory_safety.md). triton-viz 3.0 does not import with Triton 3.9: run this with the
python of its own virtual environment:

    python -m venv --system-site-packages VENV && VENV/bin/pip install --no-deps triton==3.5.1 triton-viz
    VENV/bin/python benchmarks/memory_safety_viz.py KERNEL.py REFERENCE.py
"""
import importlib.util, sys, time, io, contextlib
import torch, triton, triton_viz
from triton_viz.clients import Sanitizer

kernel_path, ref_path = sys.argv[1], sys.argv[2]

def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod

mod = load(kernel_path, "cand")
ref = load(ref_path, "ref")
for name, value in list(vars(mod).items()):
    if isinstance(value, triton.runtime.jit.JITFunction):
        setattr(mod, name, triton_viz.trace(client=Sanitizer(abort_on_error=True))(value))
    elif isinstance(getattr(value, "fn", None), triton.runtime.jit.JITFunction):
        value.fn = triton_viz.trace(client=Sanitizer(abort_on_error=True))(value.fn)
torch.manual_seed(0)
inputs = ref.get_inputs()
start = time.perf_counter()
out = io.StringIO()
status = "clean"
try:
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        mod.ModelNew()(*inputs)
except BaseException as error:  # abort_on_error raises or exits
    status = f"caught ({type(error).__name__}: {str(error)[:200]})"
text = out.getvalue()
if status == "clean" and ("out of bounds" in text.lower() or "oob" in text.lower()):
    status = "caught (reported)"
print(f"RESULT {status} {time.perf_counter() - start:.2f}s")
print(text[-1500:])
