"""Generated cases handed to other harnesses, as ONNX backend-test folders.

Each instance and exporter becomes `DIR/test_<case id>_<exporter>/` holding
`model.onnx` and `test_data_set_0/input_N.pb`, `output_N.pb`: the layout that
`onnx.backend.test.loader.load_model_tests` and onnxruntime's
`onnx_test_runner` read. The files are the cached artifact's own, so the
expected outputs are torch's in the case dtype (what `output_N.pb` already
holds), not the float64 truth: those harnesses judge with their own rtol/atol.
A `data.json` beside the model gives ONNX's loader a tolerance that fits the
case (its rule, doubled because torch and the backend each round, never
tighter than ONNX's defaults). `DIR/manifest.json` lists what was written.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import layout
from .compare import tolerance_for
from .export import ArtifactCache, OracleError, build_artifact
from .generate import draw_instances, jobs_of
from .layout import DATA_SET, MANIFEST, MODEL
from .model import Artifact, Case, CaseInstance

if TYPE_CHECKING:
    from .certification.profile import Profile

#: ONNX's runner defaults; data.json never asks for less.
ONNX_RTOL, ONNX_ATOL = 1e-3, 1e-7


def test_dir_name(case_id: str, exporter: str) -> str:
    """`activation/relu[0a1b2c3d4e5f]` and dynamo -> `test_activation_relu_0a1b2c3d4e5f_dynamo`.

    ONNX's runner requires the `test_` prefix and names its tests after the folder.
    """
    stem = re.sub(r"[^A-Za-z0-9]+", "_", case_id).strip("_")
    return f"test_{stem}_{re.sub(r'[^A-Za-z0-9]+', '_', exporter)}"


def harness_tolerance(instance: CaseInstance, artifact: Artifact) -> tuple[float, float]:
    """rtol/atol for a harness that compares against `output_N.pb` (torch in the case dtype)."""
    rtol, atol = ONNX_RTOL, ONNX_ATOL
    for y in artifact.oracles.source:
        tol = tolerance_for(y.dtype, instance.case.op_class, instance.case.tolerance)
        scale = 1.0 if instance.prebuilt is not None else 2.0  # a prebuilt case's outputs are its oracle
        rtol, atol = max(rtol, scale * tol.rtol), max(atol, scale * tol.atol)
    return rtol, atol


@dataclass
class ExportReport:
    written: list[dict[str, Any]] = field(default_factory=list)
    #: (case id, exporter, why) for instances with nothing to hand over.
    failed: list[tuple[str, str, str]] = field(default_factory=list)


def _write(artifact: Artifact, instance: CaseInstance, target: Path) -> None:
    """Copy the artifact's backend-test files (not its oracle/ and meta.json) into `target`, atomically."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        shutil.copyfile(artifact.model_path, tmp / MODEL)
        shutil.copytree(artifact.directory / DATA_SET, tmp / DATA_SET)
        rtol, atol = harness_tolerance(instance, artifact)
        data = {
            "rtol": rtol,
            "atol": atol,
            "case_id": instance.id,
            "exporter": artifact.exporter,
            "opset": artifact.opset,
            "params": dict(instance.params),
        }
        (tmp / "data.json").write_text(json.dumps(data, indent=1, sort_keys=True, default=str) + "\n")
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def export_cases(
    cases: Sequence[Case],
    directory: Path,
    *,
    exporters: Sequence[str],
    opset: int,
    seed: int,
    max_examples: int,
    cache: ArtifactCache,
    log: Callable[[str], None] | None = None,
) -> ExportReport:
    """Draw, build (or take from the cache) and write every instance's backend-test folder."""
    say = log or (lambda _msg: None)
    directory.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    for case in cases:
        for instance in draw_instances(case, seed=seed, max_examples=max_examples):
            for _, exporter, _ in jobs_of([instance], exporters, [opset]):
                try:
                    artifact = build_artifact(instance, exporter, opset, cache)
                except OracleError as exc:
                    report.failed.append((instance.id, exporter, str(exc)))
                    continue
                if artifact.export_error:
                    report.failed.append((instance.id, exporter, artifact.export_error))
                    continue
                name = test_dir_name(instance.id, exporter)
                _write(artifact, instance, directory / name)
                report.written.append(
                    {"dir": name, "case_id": instance.id, "exporter": exporter, "opset": artifact.opset}
                )
                say(f"{name}")
    _write_manifest(directory, report)
    return report


def export_profile(
    profile: Profile,
    directory: Path,
    *,
    library: Sequence[Case],
    cache: ArtifactCache,
    log: Callable[[str], None] | None = None,
) -> ExportReport:
    """A profile's frozen instances (each with its own seed, exporter and opset) as backend-test folders."""
    say = log or (lambda _msg: None)
    directory.mkdir(parents=True, exist_ok=True)
    by_path = {c.path: c for c in library}
    drawn: dict[tuple[str, int, bool], dict[str, CaseInstance]] = {}
    report = ExportReport()
    for entry in profile.instances:
        case_id, exporter = entry.id, entry.exporter
        case = by_path.get(entry.case)
        if case is None:
            report.failed.append((case_id, exporter, f"case {entry.case!r} is not in the installed library"))
            continue
        key = (case.path, entry.seed, entry.special_values)
        if key not in drawn:
            found = draw_instances(case, seed=key[1], max_examples=profile.max_examples, special_values=key[2])
            drawn[key] = {i.id: i for i in found}
        instance = drawn[key].get(case_id)
        if instance is None:
            report.failed.append((case_id, exporter, "the instance no longer draws from the library"))
            continue
        try:
            artifact = build_artifact(instance, exporter, entry.opset, cache)
        except OracleError as exc:
            report.failed.append((case_id, exporter, str(exc)))
            continue
        if artifact.export_error:
            report.failed.append((case_id, exporter, artifact.export_error))
            continue
        name = test_dir_name(instance.id, exporter)
        _write(artifact, instance, directory / name)
        report.written.append({"dir": name, "case_id": instance.id, "exporter": exporter, "opset": artifact.opset})
        say(name)
    _write_manifest(directory, report, profile=profile.label)
    return report


def _write_manifest(directory: Path, report: ExportReport, **extra: Any) -> None:
    manifest = {
        "layout": f"{layout.DESCRIPTION} (torch in the case dtype)",
        **extra,
        "tests": report.written,
        "not_written": [{"case_id": c, "exporter": e, "reason": why} for c, e, why in report.failed],
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
