"""Coverage: which ONNX operators the exported graphs exercise, and which PyTorch
operators the cases run, measured from the artifacts themselves rather than
declared by hand; and which values of its parameters each case's instances
draw, measured from the draws alone (nothing is exported).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import onnx

from .export import ArtifactCache, OracleError, build_artifact
from .generate import Cover, draw_covering, draw_instances, jobs_of
from .graphs import DEFAULT_DOMAINS, graphs_of
from .model import Case


def onnx_ops(model: onnx.ModelProto) -> set[str]:
    """Default-domain op types in the graph, its subgraphs and its local functions."""
    nodes = [n for g in graphs_of(model.graph) for n in g.node]
    for fn in model.functions:
        nodes.extend(fn.node)
    return {n.op_type for n in nodes if n.domain in DEFAULT_DOMAINS}


def default_domain_ops(opset: int) -> set[str]:
    """Every non-deprecated operator the default domain defines at this opset."""
    names: dict[str, onnx.defs.OpSchema] = {}
    for schema in onnx.defs.get_all_schemas_with_history():
        if schema.domain not in DEFAULT_DOMAINS or schema.since_version > opset:
            continue
        best = names.get(schema.name)
        if best is None or schema.since_version > best.since_version:
            names[schema.name] = schema
    return {name for name, schema in names.items() if not schema.deprecated}


def torch_ops(module: Any, inputs: Sequence[Any]) -> set[str]:
    """The aten operators an eager forward pass dispatches, recorded as it runs."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    from .tensors import to_torch

    seen: set[str] = set()

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            seen.add(str(func.overloadpacket.__name__))
            return func(*args, **(kwargs or {}))

    with torch.no_grad(), Record():
        module(*[to_torch(x) for x in inputs])
    return seen


def measure(
    cases: Sequence[Case],
    *,
    seed: int,
    max_examples: int,
    exporters: Sequence[str],
    opset: int,
    cache_dir: Path,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict[str, Any]:
    """The operators the cases' graphs and torch runs exercise; `progress` hears (done, total, case) per case."""
    cache = ArtifactCache(cache_dir)
    by_case_onnx: dict[str, set[str]] = {}
    by_case_torch: dict[str, set[str]] = {}
    export_failures: dict[str, str] = {}
    # Prebuilt cases (ONNX's node tests, say) bring their own graphs and run no torch: nothing to measure.
    cases = [c for c in cases if c.prebuilt is None]
    for case in cases:
        onnx_seen = by_case_onnx.setdefault(case.path, set())
        torch_seen = by_case_torch.setdefault(case.path, set())
        for inst in draw_instances(case, seed=seed, max_examples=max_examples):
            try:
                torch_seen |= torch_ops(inst.module, inst.inputs)
            except Exception as exc:
                export_failures.setdefault(case.path, f"torch eager: {type(exc).__name__}: {exc}"[:300])
            for _, exporter, _ in jobs_of([inst], exporters, [opset]):
                try:
                    artifact = build_artifact(inst, exporter, opset, cache)
                except OracleError as exc:
                    export_failures.setdefault(case.path, str(exc)[:300])
                    continue
                if artifact.export_error:
                    export_failures.setdefault(f"{case.path} ({exporter})", artifact.export_error.splitlines()[0][:300])
                    continue
                onnx_seen |= onnx_ops(onnx.load(str(artifact.model_path)))
        if progress is not None:
            progress(len(by_case_onnx), len(cases), case.path)
    exercised = set().union(*by_case_onnx.values()) if by_case_onnx else set()
    available = default_domain_ops(opset)
    torch_all = set().union(*by_case_torch.values()) if by_case_torch else set()
    categories: dict[str, int] = {}
    for case in cases:
        categories[case.category] = categories.get(case.category, 0) + 1
    return {
        "opset": opset,
        "exporters": list(exporters),
        "seed": seed,
        "max_examples": max_examples,
        "cases": {"total": len(cases), "model": categories.get("model", 0), "by_category": categories},
        "onnx": {
            "exercised": sorted(exercised),
            "count": len(exercised),
            "available": len(available),
            "missing": sorted(available - exercised),
            "outside_opset": sorted(exercised - available),
            "by_case": {k: sorted(v) for k, v in by_case_onnx.items()},
        },
        "torch": {
            "operators": sorted(torch_all),
            "count": len(torch_all),
            "by_case": {k: sorted(v) for k, v in by_case_torch.items()},
        },
        "export_failures": export_failures,
    }


def _drawing_fingerprint() -> str:
    """What a case's draws depend on besides its own source: the drawing code and Hypothesis' version."""
    import hypothesis
    import numpy

    from . import casekit, dtypes, generate, tensors

    h = hashlib.sha256(f"{hypothesis.__version__}:{numpy.__version__}".encode())
    for module in (generate, casekit, dtypes, tensors):
        h.update(Path(module.__file__ or "").read_bytes())
    return h.hexdigest()


def parameters(
    cases: Sequence[Case],
    *,
    seed: int,
    max_examples: int,
    cover: Cover | str = Cover.NONE,
    cache_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Per case, each choice and boolean with every value it offers, the values drawn, and those never drawn.

    Drawn as a run draws its plain instances (the other value modes draw the
    same parameters); prebuilt cases have none. Covering draws are most of
    the time (Hypothesis tries each forced value ten times); a case's row is
    a function of its source, the drawing code and the options, so with
    `cache_dir` it is kept under `params/` there and read back while those
    are unchanged.
    """
    fingerprint = _drawing_fingerprint() if cache_dir is not None else ""
    rows = []
    for case in cases:
        if case.prebuilt is not None:
            continue
        if cache_dir is None:
            rows.append(_parameter_row(case, seed, max_examples, Cover(cover)))
            continue
        key = hashlib.sha256(
            json.dumps([fingerprint, case.path, case.source_hash, seed, max_examples, str(cover)]).encode()
        ).hexdigest()
        path = Path(cache_dir) / "params" / key[:2] / f"{key}.json"
        with contextlib.suppress(OSError, ValueError):
            rows.append(json.loads(path.read_text()))
            continue
        row = _parameter_row(case, seed, max_examples, Cover(cover))
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}")
            tmp.write_text(json.dumps(row))
            os.replace(tmp, path)
        rows.append(row)
    return rows


def _parameter_row(case: Case, seed: int, max_examples: int, cover: Cover) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        return json.loads(json.dumps(value, default=str))

    drawn = draw_covering(case, seed=seed, max_examples=max_examples, cover=cover)
    return {
        "case": case.path,
        "instances": len(drawn.instances),
        "parameters": [
            {
                "label": p.label,
                "values": plain(list(p.values)),
                "drawn": plain(list(p.drawn)),
                "never": plain(list(p.missing)),
            }
            for p in drawn.coverage()
        ],
    }
