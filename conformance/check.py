"""Model-check API: one call that checks a user's own module on every backend.

    result = conformance.check_model(model, (x,))
    result.assert_ok()

The module becomes a one-instance case and goes through the same engine as
the suite: both exporters if asked, every available backend, float64 truth.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .engine import RunOptions, run
from .generate import case as make_case
from .model import FAILING, Metrics, OpClass, Outcome, Result, Spec, Tolerance


@dataclass(frozen=True)
class CheckEntry:
    backend: str
    exporter: str
    outcome: Outcome
    metrics: Metrics
    message: str
    oracle: str

    @property
    def ok(self) -> bool:
        return self.outcome not in FAILING and self.outcome is not Outcome.UNSUPPORTED


@dataclass(frozen=True)
class CheckResult:
    model: str
    results: tuple[CheckEntry, ...]
    run_id: str
    db: Path
    raw: tuple[Result, ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def assert_ok(self) -> None:
        """Raise an AssertionError that reads like a diff: expected (torch) against actual (backend)."""
        __tracebackhide__ = True
        bad = [r for r in self.results if not r.ok]
        if not bad:
            return
        lines = [f"{self.model}: {len(bad)} of {len(self.results)} backend results differ from torch"]
        for r in bad:
            lines.append(f"  {r.backend} ({r.exporter}): {r.outcome}")
            m = r.metrics
            if m.worst_index or m.worst_expected is not None:
                where = f"output[{m.worst_output}]{list(m.worst_index)}"
                lines.append(f"  - expected {where} = {m.worst_expected!r}")
                lines.append(f"  + actual   {where} = {m.worst_actual!r}")
                lines.append(
                    f"    max abs error {m.max_abs_error:.3g}, max rel error {m.max_rel_error:.3g}, "
                    f"max {m.max_ulp:g} ulp, {m.fraction_off:.1%} of {m.elements} elements off"
                )
            if r.message:
                lines.append(f"    {r.message.splitlines()[0][:300]}")
        raise AssertionError("\n".join(lines))


def _fingerprint(model: Any) -> str:
    """Weights and structure, so a retrained model is never served a stale cached export."""
    import torch

    h = hashlib.sha256(repr(model).encode())
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def _dynamic_axes(dynamic_shapes: Any, n: int) -> tuple[Mapping[int, str], ...] | None:
    """torch.export style dynamic shapes ({axis: Dim or name} per input) as named axes."""
    if dynamic_shapes is None:
        return None
    if isinstance(dynamic_shapes, Mapping):
        dynamic_shapes = list(dynamic_shapes.values())
    if len(dynamic_shapes) != n:
        raise ValueError(f"dynamic_shapes has {len(dynamic_shapes)} entries for {n} inputs")
    out = []
    for spec in dynamic_shapes:
        axes = {}
        for axis, dim in (spec or {}).items():
            axes[int(axis)] = dim if isinstance(dim, str) else getattr(dim, "__name__", f"dim{axis}")
        out.append(axes)
    return tuple(out)


def check_model(
    model: Any,
    example_inputs: Sequence[Any],
    *,
    backends: Sequence[str] | str | None = None,
    exporters: Sequence[str] | str | None = None,
    dynamic_shapes: Any = None,
    tolerance: Tolerance | float | None = None,
    op_class: OpClass = OpClass.MATMUL,
    opset: int | None = None,
    db: Path | str | None = None,
    cache_dir: Path | str | None = None,
) -> CheckResult:
    """Export `model`, run it on the backends (every available one by default) and compare with torch."""
    from .tensors import to_numpy

    inputs = tuple(to_numpy(x) for x in example_inputs)
    if isinstance(tolerance, (int, float)):
        tolerance = Tolerance(float(tolerance), float(tolerance))
    name = type(model).__name__
    axes = _dynamic_axes(dynamic_shapes, len(inputs))

    def draw(d: Any) -> Spec:
        return Spec(model, inputs, dynamic_axes=axes)

    draw.__name__ = name
    user_case = replace(
        make_case("user", name=name, op_class=op_class, tolerance=tolerance)(draw),
        source_hash=_fingerprint(model),
    )
    if isinstance(exporters, str):
        exporters = [e.strip() for e in exporters.split(",")]
    if db is None:
        db = Path(tempfile.mkdtemp(prefix="conformance-check-")) / "results.sqlite"
    options = RunOptions(
        backends=",".join(backends) if isinstance(backends, (list, tuple)) else backends,
        exporters=tuple(exporters or ("dynamo",)),
        max_examples=1,
        db=Path(db),
        expectations=None,
        replay=False,  # one model, one draw: nothing to replay
    )
    if opset is not None:
        options = replace(options, opset=opset)
    if cache_dir is not None:
        options = replace(options, cache_dir=Path(cache_dir))
    summary = run(options, cases=[user_case])
    entries = tuple(
        CheckEntry(r.backend, r.exporter, r.outcome, r.metrics, r.message, str(r.oracle)) for r in summary.results
    )
    return CheckResult(name, entries, summary.run_id, Path(db), tuple(summary.results))
