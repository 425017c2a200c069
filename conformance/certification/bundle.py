"""Certification: run a frozen profile on one backend and seal the result in a bundle.

The bundle is a tar.gz that anyone can check with `conformance verify`:

    manifest.json     profile name, version and hash; tool version, commit, clean tree; command line
    profile.json      the profile that was run
    environment.json  OS, CPU, Python, package versions, backend name and version
    results.jsonl     one result per profile instance, in profile order, with its metrics
    waivers.json      the expectation entries that turned failures into xfail, with reasons and links
    summary.json      per category and overall: pass rate, must-pass failures, whether the profile is met
    logs/certify.log  the run's log
    SHA256SUMS        a sha256 for every other file

Instances run as prebuilt cases from a materialized profile: no torch is
imported on this path, so a vendor needs only onnx, numpy, this package and
their backend.
"""

from __future__ import annotations

import io
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import __version__
from ..layout import MODEL
from ..model import FAILING, Backend, Outcome, Result
from .materialize import Materialized, materialized_for, prebuilt_case
from .profile import Profile, ProfileEntry, sha256

BUNDLE_FORMAT = 1
BUNDLE_KIND = "onnx-conformance certification bundle"
MANIFEST_JSON = "manifest.json"
PROFILE_JSON = "profile.json"
ENVIRONMENT_JSON = "environment.json"
RESULTS_JSONL = "results.jsonl"
WAIVERS_JSON = "waivers.json"
SUMMARY_JSON = "summary.json"
LOG = "logs/certify.log"
MEMBERS = (MANIFEST_JSON, PROFILE_JSON, ENVIRONMENT_JSON, RESULTS_JSONL, WAIVERS_JSON, SUMMARY_JSON, LOG)
SUMS = "SHA256SUMS"
#: Packages a result can depend on, recorded by version when installed.
RELEVANT_PACKAGES = (
    "onnx-conformance",
    "numpy",
    "onnx",
    "protobuf",
    "ml_dtypes",
    "hypothesis",
    "onnxruntime",
    "onnxruntime-gpu",
    "openvino",
    "iree-base-compiler",
    "iree-base-runtime",
    "apache-tvm",
    "tinygrad",
    "tract",
    "onnx2torch",
    "torch",
    "onnxscript",
)


class CertifyError(ValueError):
    """Certification cannot start or finish; the message says why."""


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Manifest:
    """What a bundle says it is: the profile by hash, the backend, the tool and the command."""

    profile_name: str
    profile_version: Any
    profile_sha256: str
    backend_name: str
    backend_version: Any
    instances: int = 0
    tool: Mapping[str, Any] | None = None
    command: str | None = None
    meets_profile: bool | None = None
    created: str = ""
    files: tuple[str, ...] = (*MEMBERS, SUMS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": BUNDLE_FORMAT,
            "kind": BUNDLE_KIND,
            "created": self.created,
            "profile": {
                "name": self.profile_name,
                "version": self.profile_version,
                "sha256": self.profile_sha256,
                "instances": self.instances,
            },
            "backend": {"name": self.backend_name, "version": self.backend_version},
            "tool": dict(self.tool or {}),
            "command": self.command,
            "meets_profile": self.meets_profile,
            "files": list(self.files),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Manifest:
        """A manifest read from a bundle whose shape `verify.check_manifest` has accepted."""
        profile, backend = d["profile"], d["backend"]
        return cls(
            profile_name=str(profile["name"]),
            profile_version=profile["version"],
            profile_sha256=str(profile["sha256"]),
            backend_name=str(backend["name"]),
            backend_version=backend.get("version"),
            instances=profile.get("instances", 0),
            tool=d.get("tool") if isinstance(d.get("tool"), dict) else None,
            command=d.get("command"),
            meets_profile=d.get("meets_profile"),
            created=str(d.get("created", "")),
        )


@dataclass(frozen=True)
class BundleResult:
    """One profile instance's result, as results.jsonl holds it."""

    index: int
    entry: ProfileEntry
    result: Result

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "index": self.index,
            "id": self.entry.id,
            "case": self.entry.case,
            "category": self.entry.category,
            "must_pass": self.entry.must_pass,
            "outcome": str(r.outcome),
            "oracle": self.entry.oracle,
            "metrics": r.metrics.to_dict(),
            "message": r.message,
            "backend": r.backend,
            "backend_version": r.backend_version,
            "exporter": r.exporter,
            "opset": r.opset,
            "duration_s": round(r.duration_s, 6),
            "waiver": dict(r.waiver) if r.waiver else None,
        }


# --------------------------------------------------------------------------- facts


def git_state() -> dict[str, Any] | str:
    """The commit of the checkout the tool runs from, and whether its tree is clean; "unknown" elsewhere."""
    root = Path(__file__).resolve().parent.parent.parent
    if not (root / ".git").exists():
        return "unknown"
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return {"commit": commit, "clean": not status.strip()}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _backend_distribution(name: str) -> str | None:
    from importlib.metadata import entry_points

    for ep in entry_points(group="conformance.backends"):
        if ep.name == name and ep.dist is not None:
            return ep.dist.name
    return None


def environment_statement(backend: Backend, backend_version: str) -> dict[str, Any]:
    """What a result depends on; versions come from package metadata, so nothing is imported for them."""
    from importlib.metadata import PackageNotFoundError, distributions, version

    relevant: dict[str, str] = {}
    dist = _backend_distribution(backend.name)
    for name in (*RELEVANT_PACKAGES, *([dist] if dist else [])):
        try:
            relevant[name] = version(name)
        except PackageNotFoundError:
            continue
    everything = {}
    for d in distributions():
        n = d.metadata["Name"] if d.metadata else None
        if n:
            everything[n] = d.version
    return {
        "os": {
            "system": platform.system(),
            "release": platform.release(),
            "version": platform.version(),
            "platform": platform.platform(),
        },
        "cpu": {"machine": platform.machine(), "model": _cpu_model(), "count": os.cpu_count()},
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "compiler": platform.python_compiler(),
        },
        "packages": relevant,
        "installed": dict(sorted(everything.items(), key=lambda kv: kv[0].lower())),
        "backend": {"name": backend.name, "version": backend_version, "distribution": dist},
        "torch_imported": "torch" in sys.modules,
    }


# --------------------------------------------------------------------------- judging


def summarize(profile: Profile, outcomes: Sequence[str]) -> dict[str, Any]:
    """Per category and overall: pass rate, must-pass failures, whether the profile is met.

    pass rate = (pass + xfail) / instances; a must-pass instance must `pass` (a waiver does not excuse it).
    """
    instances = profile.instances
    if len(outcomes) != len(instances):
        raise CertifyError(f"{len(outcomes)} outcomes for {len(instances)} instances")
    by_category: dict[str, list[tuple[ProfileEntry, str]]] = {}
    for entry, outcome in zip(instances, outcomes, strict=True):
        by_category.setdefault(entry.category, []).append((entry, outcome))

    def block(rows: Sequence[tuple[ProfileEntry, str]], minimum: float) -> dict[str, Any]:
        counts = Counter(o for _, o in rows)
        passed = counts.get(str(Outcome.PASS), 0) + counts.get(str(Outcome.XFAIL), 0)
        failures = [e.id for e, o in rows if e.must_pass and o != str(Outcome.PASS)]
        rate = passed / len(rows) if rows else 0.0
        return {
            "instances": len(rows),
            "outcomes": dict(sorted(counts.items())),
            "passed": counts.get(str(Outcome.PASS), 0),
            "waived": counts.get(str(Outcome.XFAIL), 0),
            "failed": sum(n for o, n in counts.items() if o in {str(f) for f in FAILING}),
            "pass_rate": rate,
            "min_pass_rate": minimum,
            "must_pass_failures": failures,
            "meets": rate >= minimum and not failures,
        }

    categories = {
        category: block(rows, profile.category_min_pass_rates.get(category, 0.0))
        for category, rows in sorted(by_category.items())
    }
    overall = block(list(zip(instances, outcomes, strict=True)), profile.overall_min_pass_rate)
    overall["meets"] = overall["meets"] and all(c["meets"] for c in categories.values())
    return {
        "profile": profile.name,
        "version": profile.version,
        "categories": categories,
        "overall": overall,
        "meets_profile": overall["meets"],
    }


def run_instances(
    materialized: Materialized,
    indices: Sequence[int],
    backend: Backend,
    expectations: Sequence[Any],
    *,
    isolate: bool = True,
    timeout: float | None = None,
    cache_dir: Path | None = None,
    db: Path | None = None,
    command: str | None = None,
    on_result: Callable[[BundleResult], None] | None = None,
) -> list[BundleResult]:
    """Run the chosen instances of a materialized profile on one backend, in profile order.

    The engine runs them as prebuilt cases; each result is then named after its
    profile instance, exporter and opset, so expectations written against the
    exported cases apply as waivers.
    """
    from ..compare import apply_expectations
    from ..engine import Progress, RunOptions, run
    from ..execute import DEFAULT_TIMEOUT_S
    from ..generate import prebuilt_instances
    from ..graphs import op_uses

    profile = materialized.profile
    entries = [profile.instances[i] for i in indices]
    cases = [prebuilt_case(e, materialized.folders[i]) for e, i in zip(entries, indices, strict=True)]
    engine_ids = [prebuilt_instances(c, seed=0, max_examples=1)[0].id for c in cases]
    records: list[BundleResult] = []

    def record(position: int, result: Result) -> BundleResult:
        entry = entries[position]
        named = replace(result, case_id=entry.id, exporter=entry.exporter, opset=entry.opset)
        # What the graph holds, for the entries that know a cause by its op.
        ops = op_uses((materialized.folders[indices[position]] / MODEL).read_bytes())
        (judged,) = apply_expectations([named], expectations, named.run_id, ops)
        return BundleResult(indices[position], entry, judged)

    class _Progress(Progress):
        seen = 0

        def result(self, result: Result) -> None:
            position, self.seen = self.seen, self.seen + 1
            if on_result is not None and position < len(entries) and result.case_id == engine_ids[position]:
                on_result(record(position, result))

    with tempfile.TemporaryDirectory(prefix="conformance-certify-") as tmp:
        options = RunOptions(
            max_examples=1,
            cache_dir=Path(cache_dir) if cache_dir else Path(tmp) / "artifacts",
            db=Path(db) if db else Path(tmp) / "certify.sqlite",
            command=command,
            isolate=isolate,
            timeout=timeout or DEFAULT_TIMEOUT_S,
            expectations=None,
            # A profile is its frozen instances, nothing an example database kept besides.
            replay=False,
            profile=f"certify:{profile.name}@{profile.version}",
        )
        summary = run(options, cases=cases, backends=[backend], progress=_Progress())
    if len(summary.results) != len(entries):
        raise CertifyError(f"the engine returned {len(summary.results)} results for {len(entries)} instances")
    for position, (result, engine_id) in enumerate(zip(summary.results, engine_ids, strict=True)):
        if result.case_id != engine_id:
            raise CertifyError(f"result {position} is for {result.case_id}, expected {engine_id}")
        records.append(record(position, result))
    return records


# --------------------------------------------------------------------------- the bundle


def _tar_add(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(mtime)
    info.mode = 0o644
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))


def write_bundle(path: Path, files: Mapping[str, bytes]) -> Path:
    """The files plus SHA256SUMS, as a tar.gz; written aside and renamed into place."""
    sums = "".join(f"{sha256(files[name])}  {name}\n" for name in files)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    now = time.time()
    with tarfile.open(tmp, "w:gz") as tar:
        for name, data in files.items():
            _tar_add(tar, name, data, now)
        _tar_add(tar, SUMS, sums.encode(), now)
    os.replace(tmp, path)
    return path


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, indent=1).encode() + b"\n"


@dataclass(frozen=True)
class Certification:
    path: Path
    summary: dict[str, Any]
    records: list[BundleResult]


def certify(
    backend_name: str,
    profile_ref: str | Path,
    out: Path,
    *,
    materialized: Path | None = None,
    cache_dir: Path | None = None,
    expectations: Path | None = None,
    isolate: bool = True,
    timeout: float | None = None,
    db: Path | None = None,
    command: str | None = None,
    echo: Callable[[str], None] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> Certification:
    """Run every instance of the profile on the backend and write the bundle to `out`; `echo` hears each line
    of the bundle's log, `progress` (done, total, instance id) each result."""
    from ..backends import backend_version, select_backends
    from ..engine import utc_now  # not at module level: the engine loads only once certifying starts
    from ..expectations import load as load_expectations
    from .profile import load as load_profile

    lines: list[str] = []

    def log(message: str) -> None:
        stamped = f"{utc_now()} {message}"
        lines.append(stamped)
        if echo is not None:
            echo(message)

    started = time.perf_counter()
    # A shipped name or a path; a materialized folder must hold exactly this profile.
    profile = load_profile(profile_ref)
    (backend,) = select_backends([backend_name])
    version = backend_version(backend)
    log(f"certifying {backend.name} {version} on profile {profile.label} ({profile.digest})")
    log(f"command: {command or '(api)'}")
    entries = load_expectations(expectations) if expectations else []
    log(f"expectations: {expectations or 'none'} ({len(entries)} entries)")
    mat = materialized_for(profile, Path(materialized) if materialized else None, cache_dir, log)
    log(f"artifacts: {mat.directory} ({len(mat.folders)} instances, every file matches the profile's sha256)")
    total = len(profile.instances)

    def on_result(rec: BundleResult) -> None:
        first = (rec.result.message.splitlines() or [""])[0][:200]
        log(f"[{rec.index + 1}/{total}] {rec.entry.id}: {rec.result.outcome}" + (f" ({first})" if first else ""))
        if progress is not None:
            progress(rec.index + 1, total, rec.entry.id)

    records = run_instances(
        mat,
        range(total),
        backend,
        entries,
        isolate=isolate,
        timeout=timeout,
        cache_dir=cache_dir,
        db=db,
        command=command,
        on_result=on_result,
    )
    summary = summarize(profile, [str(r.result.outcome) for r in records])
    used: dict[int, dict[str, Any]] = {}
    by_line = {e.line: e for e in entries}
    for rec in records:
        if rec.result.waiver:
            line = int(rec.result.waiver.get("line", 0))
            if line in by_line:
                used.setdefault(line, {"line": line, **by_line[line].entry()})
    waivers = {
        "source": str(expectations) if expectations else None,
        "source_sha256": sha256(Path(expectations).read_bytes()) if expectations else None,
        "waivers": [used[k] for k in sorted(used)],
    }
    counts = Counter(str(r.result.outcome) for r in records)
    overall = summary["overall"]
    log(f"results: {', '.join(f'{n} {o}' for o, n in sorted(counts.items()))}")
    log(
        f"pass rate {overall['pass_rate']:.4f} (minimum {overall['min_pass_rate']}); "
        f"must-pass failures: {len(overall['must_pass_failures'])}; "
        f"{'meets' if summary['meets_profile'] else 'does not meet'} the profile"
    )
    log(f"took {time.perf_counter() - started:.1f} s")
    manifest = Manifest(
        profile_name=profile.name,
        profile_version=profile.version,
        profile_sha256=profile.digest,
        instances=total,
        backend_name=backend.name,
        backend_version=version,
        tool={"name": "onnx-conformance", "version": __version__, "git": git_state()},
        command=command,
        meets_profile=summary["meets_profile"],
        created=utc_now(),
    )
    results_text = "".join(json.dumps(r.to_dict(), sort_keys=True) + "\n" for r in records)
    files = {
        MANIFEST_JSON: _json_bytes(manifest.to_dict()),
        PROFILE_JSON: profile.dumps().encode(),
        ENVIRONMENT_JSON: _json_bytes(environment_statement(backend, version)),
        RESULTS_JSONL: results_text.encode(),
        WAIVERS_JSON: _json_bytes(waivers),
        SUMMARY_JSON: _json_bytes(summary),
        LOG: ("\n".join(lines) + "\n").encode(),
    }
    path = write_bundle(Path(out), files)
    return Certification(path, summary, records)
