"""The share of loads/stores/atomics in the liger-kernel and flag-gems wheels that the range model
proves in bounds, flags, or leaves unknown (docs/memory_safety.md, "Unknown share").

    python benchmarks/memory_safety_unknown_share.py
"""
import importlib.metadata, libcst as cst
from pathlib import Path
from collections import Counter
from fuselint.model.module import ModuleModel
from fuselint.model.ranges import axis_checks, overruns, where_arm_loads
roots=[Path(importlib.metadata.distribution(d).locate_file(p)) for d,p in (("liger-kernel","liger_kernel"),("flag-gems","flag_gems"))]
c=Counter()
for root in roots:
    for f in root.rglob("*.py"):
        try:
            m=ModuleModel(cst.parse_module(f.read_text()))
        except Exception:
            continue
        for k in m.kernels:
            try:
                flagged={id(o.access.call) for o in overruns(k)}|{id(w.access.call) for w in where_arm_loads(k)}
                for a in k.accesses:
                    c['accesses']+=1
                    checks=axis_checks(k,a)
                    if id(a.call) in flagged: c['flagged']+=1; continue
                    if checks is None: c['pointer not modelled']+=1; continue
                    if not checks: c['no extent stated']+=1; continue
                    kinds={x.verdict.kind for x in checks}
                    if 'proven' in kinds and kinds=={'proven'}: c['proven in bounds']+=1
                    elif any(x.bounded_here for x in checks) and not 'proven' in kinds: c['bounded by its own mask, not proven']+=1
                    elif 'proven' in kinds: c['proven in bounds']+=1
                    else: c['unknown']+=1
            except Exception as e:
                c['error']+=1
print(dict(c))
