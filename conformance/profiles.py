"""Profiles: named, versioned, frozen lists of case instances, the unit of certification.

A profile pins every instance it holds by content: the sha256 of `model.onnx`,
of each input and of each expected output, as they are written in ONNX's
backend-test layout. Freezing one needs torch (it exports and computes the
oracles); materializing one writes those files into a folder; certifying a
materialized profile needs only onnx, numpy, this package and a backend.

The expected output of an instance is the oracle the engine judges it by:
the float64 truth rounded to the output dtype (with torch's own special values
and zeros, which the engine judges against torch in the case dtype), torch's
output where there is no truth, or the reference evaluator's where torch and
the spec diverge; each output records the tolerance it is judged with, so that
judging without torch gives our judgement.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, layout
from .export import parse_tensor
from .layout import DATA_SET, MANIFEST, MODEL
from .model import Case, CaseInstance, OpClass, Prebuilt, Tolerance, Unspecified, is_float

PROFILE_FORMAT = 1
PROFILES_DIR = Path(__file__).with_name("data") / "profiles"
PROFILE_FILE = "profile.json"

#: Dtypes outside the `core` profiles: they have their own (`low-precision`) or none (float64).
_NON_CORE = frozenset({"float16", "bfloat16", "float64"})
_DTYPE_NAMES = frozenset(
    {"float64", "float32", "float16", "bfloat16", "int8", "uint8", "int16", "int32", "int64", "bool"}
)


class ProfileError(ValueError):
    """A profile (or a materialized one) is missing, malformed or does not match its hashes."""


# --------------------------------------------------------------------------- recipes


@dataclass(frozen=True)
class Recipe:
    """How a shipped profile is drawn from the library; `profile freeze` options override it."""

    description: str
    cases: str | None = None
    #: Only cases of these categories (empty: any), and never those of `exclude`.
    categories: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    #: Dtype groups: per case, the first `per_case` drawn instances of each group are kept.
    groups: tuple[str, ...] = ("standard",)
    special_values: bool = False
    #: Instances drawn per case to pick from.
    max_examples: int = 8
    per_case: int = 1
    #: Globs over case paths or names whose instances must pass (a waiver does not excuse them).
    must_pass: tuple[str, ...] = ()
    min_pass_rate: float = 0.8
    overall_min_pass_rate: float = 0.9


#: The basic operators every backend is expected to get right.
CORE_MUST_PASS = (
    "activation/relu",
    "elementwise/add",
    "elementwise/sub",
    "elementwise/mul",
    "elementwise/div",
    "linalg/matmul",
    "reduction/sum",
    "shape/reshape",
    "shape/transpose",
    "shape/cat",
)

#: Where special values have semantics to get wrong; shape and indexing ops only move them.
SPECIAL_CATEGORIES = (
    "activation",
    "elementwise",
    "transcendental",
    "comparison",
    "rounding",
    "reduction",
    "normalization",
)

RECIPES: dict[str, Recipe] = {
    "core": Recipe(
        "The operator library in float32 and the integer types.", exclude=("model",), must_pass=CORE_MUST_PASS
    ),
    "core-special": Recipe(
        "The numeric operators (activations, elementwise, transcendental, comparison, rounding, reductions, "
        "normalization) in float32 and the integer types, with NaN, ±inf, -0.0, subnormals and extremes.",
        categories=SPECIAL_CATEGORIES,
        special_values=True,
        min_pass_rate=0.7,
        overall_min_pass_rate=0.8,
    ),
    "models": Recipe(
        "The model cases: blocks of real networks.", categories=("model",), groups=("any",), max_examples=1
    ),
    "low-precision": Recipe(
        "The operator library in float16 and bfloat16.",
        exclude=("model",),
        groups=("float16", "bfloat16"),
        max_examples=12,
        min_pass_rate=0.7,
        overall_min_pass_rate=0.8,
    ),
}


def _dtypes_of(instance: CaseInstance) -> set[str]:
    """The dtypes an instance involves: its inputs' and any dtype named in its parameters."""
    found = {x.dtype.name for x in instance.inputs}

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.update(d for d in _DTYPE_NAMES if d == value or value.startswith(f"{d}["))
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk(dict(instance.params))
    return found


def in_group(instance: CaseInstance, group: str) -> bool:
    dtypes = _dtypes_of(instance)
    if group == "any":
        return True
    if group == "standard":
        return not (dtypes & _NON_CORE)
    if group in ("float16", "bfloat16"):
        return group in dtypes
    raise ProfileError(f"unknown dtype group {group!r}; use standard, float16, bfloat16 or any")


# --------------------------------------------------------------------------- hashing and files


def canonical_json(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def profile_hash(profile: Mapping[str, Any]) -> str:
    """sha256 of the profile's canonical JSON: formatting and key order do not change it."""
    return hashlib.sha256(canonical_json(profile)).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tensor_bytes(array: np.ndarray, name: str) -> bytes:
    from onnx import numpy_helper

    return numpy_helper.from_array(np.asarray(array), name=name).SerializeToString()


def _tensor_name(data: bytes) -> str:
    import onnx

    tensor = onnx.TensorProto()
    tensor.ParseFromString(data)
    return tensor.name


def _truth_in_dtype(truth: Sequence[np.ndarray], source: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """The float64 truth rounded to each output's dtype.

    The engine judges finite values against the truth but NaN, infinities and
    signed zeros against torch in the case dtype: where torch's output is not
    finite or is zero, torch's value is the expected one.
    """
    out = []
    for t, s in zip(truth, source, strict=True):
        t = np.asarray(t)
        if t.shape != s.shape:
            raise ProfileError(f"truth shape {list(t.shape)} differs from torch's {list(s.shape)}")
        with np.errstate(all="ignore"):
            rounded = t.astype(s.dtype)
            if is_float(s.dtype):
                s64, r64 = s.astype(np.float64), rounded.astype(np.float64)
                keep = np.isfinite(s64) & np.isfinite(r64) & (s64 != 0)
                rounded = np.where(keep, r64, s64).astype(s.dtype)
        out.append(np.array(rounded, dtype=s.dtype).reshape(s.shape))  # ascontiguousarray would make a scalar 1-d
    return tuple(out)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def freeze_instance(
    instance: CaseInstance, exporter: str, opset: int, cache: Any, *, must_pass: bool = False
) -> tuple[dict[str, Any] | None, dict[str, bytes], str]:
    """The profile entry of an instance and its files, or (None, {}, why) where it cannot be one.

    An instance that does not export, or that torch itself cannot run, says
    nothing about a backend: it is left out of the profile, with the reason.
    """
    from .compare import oracle_agreement, tolerances
    from .export import OracleError, build_artifact
    from .model import OracleAgreement

    try:
        artifact = build_artifact(instance, exporter, opset, cache)
    except OracleError as exc:
        return None, {}, str(exc)
    if artifact.export_error:
        return None, {}, f"export-fail: {artifact.export_error.splitlines()[0] if artifact.export_error else ''}"
    o = artifact.oracles
    agreement, _why = oracle_agreement(instance, artifact)
    if agreement is OracleAgreement.DIVERGE and o.spec is not None:
        kind, expected, bounds = "spec", o.spec, tolerances(instance, o.spec, 2.0)
    elif o.truth is not None:
        try:
            kind, expected = "truth", _truth_in_dtype(o.truth, o.source)
        except ProfileError as exc:
            return None, {}, str(exc)
        bounds = tolerances(instance, o.source)
    else:
        kind, expected, bounds = "torch", o.source, tolerances(instance, o.source)

    files: dict[str, bytes] = {MODEL: artifact.model_path.read_bytes()}
    data = artifact.directory / DATA_SET
    inputs = []
    for i, x in enumerate(instance.inputs):
        raw = (data / layout.input_file(i)).read_bytes()
        files[layout.input_path(i)] = raw
        inputs.append({"name": _tensor_name(raw), "dtype": x.dtype.name, "shape": list(x.shape), "sha256": sha256(raw)})
    outputs = []
    for i, y in enumerate(expected):
        name = _tensor_name((data / layout.output_file(i)).read_bytes())
        raw = _tensor_bytes(y, name)
        files[layout.output_path(i)] = raw
        tol = bounds[i]
        outputs.append(
            {
                "name": name,
                "dtype": np.asarray(y).dtype.name,
                "shape": list(np.shape(y)),
                "sha256": sha256(raw),
                "rtol": tol.rtol,
                "atol": tol.atol,
            }
        )
    entry = {
        "id": instance.id,
        "case": instance.case.path,
        "category": instance.case.category,
        "seed": instance.seed,
        "special_values": instance.special_values,
        "exporter": exporter,
        "opset": opset,
        "params": _jsonable(dict(instance.params)),
        "must_pass": must_pass,
        "op_class": str(instance.case.op_class),
        "check_signed_zero": Unspecified.SIGNED_ZERO not in instance.case.unspecified,
        "oracle": kind,
        "oracle_agreement": str(agreement),
        "model": {"sha256": sha256(files[MODEL])},
        "inputs": inputs,
        "outputs": outputs,
    }
    return entry, files, ""


# --------------------------------------------------------------------------- freeze


def _matches(case: Case, patterns: Iterable[str]) -> bool:
    import fnmatch

    return any(fnmatch.fnmatchcase(case.path, p) or fnmatch.fnmatchcase(case.name, p) for p in patterns)


def freeze(
    name: str,
    *,
    cases: str | None = None,
    seed: int = 0,
    max_examples: int | None = None,
    per_case: int | None = None,
    special_values: bool | None = None,
    groups: Sequence[str] | None = None,
    exporter: str = "dynamo",
    opset: int | None = None,
    version: int = 1,
    must_pass: Sequence[str] | None = None,
    min_pass_rate: float | None = None,
    cache_dir: Path | None = None,
    library: Sequence[Case] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Build a profile from the current library; a shipped name starts from its recipe."""
    from .export import DEFAULT_OPSET, EXPORTERS, ArtifactCache, default_cache_dir
    from .generate import discover_cases, draw_instances, select_cases

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ProfileError(f"profile name {name!r}: use letters, digits, '.', '_' and '-'")
    if exporter not in EXPORTERS:
        raise ProfileError(f"unknown exporter {exporter!r}; choose from {', '.join(EXPORTERS)}")
    recipe = RECIPES.get(name, Recipe(f"Profile {name}.", groups=("any",), max_examples=1))
    patterns = cases if cases is not None else recipe.cases
    draws = max_examples or recipe.max_examples
    keep = per_case or recipe.per_case
    special = recipe.special_values if special_values is None else special_values
    chosen_groups = tuple(groups or recipe.groups)
    opset = opset or DEFAULT_OPSET
    must = tuple(must_pass if must_pass is not None else recipe.must_pass)
    rate = recipe.min_pass_rate if min_pass_rate is None else min_pass_rate
    if draws < 1 or keep < 1:
        raise ProfileError("--max-examples and --per-case must be at least 1")
    for g in chosen_groups:
        in_group_check = g in ("any", "standard", "float16", "bfloat16")
        if not in_group_check:
            raise ProfileError(f"unknown dtype group {g!r}; use standard, float16, bfloat16 or any")
    say = log or (lambda _msg: None)

    selected = select_cases(discover_cases() if library is None else library, patterns)
    if recipe.categories:
        selected = [c for c in selected if c.category in recipe.categories]
    if cases is None:
        # Prebuilt packs (ONNX's node tests, say) bring their own expected outputs and are
        # certified as they are; a profile drawn from the library holds the torch-written cases.
        selected = [c for c in selected if c.prebuilt is None and c.category not in recipe.exclude]
    cache = ArtifactCache(Path(cache_dir or default_cache_dir()))
    instances: list[dict[str, Any]] = []
    excluded: list[dict[str, str]] = []
    for n, case in enumerate(selected, 1):
        drawn = draw_instances(case, seed=seed, max_examples=draws, special_values=special)
        picks: list[CaseInstance] = []
        for group in chosen_groups:
            picks.extend([i for i in drawn if in_group(i, group) and i not in picks][:keep])
        if not picks:
            excluded.append({"case": case.path, "reason": f"no drawn instance in {'/'.join(chosen_groups)}"})
        for instance in picks:
            entry, _files, why = freeze_instance(instance, exporter, opset, cache, must_pass=_matches(case, must))
            if entry is None:
                excluded.append({"id": instance.id, "case": case.path, "reason": why[:300]})
            else:
                instances.append(entry)
        say(f"[{n}/{len(selected)}] {case.path}: {len(picks)} instance(s)")
    if not instances:
        raise ProfileError(f"profile {name!r} would hold no instance")
    categories = sorted({e["category"] for e in instances})
    try:
        from importlib.metadata import version as dist_version

        torch_version = dist_version("torch")
    except Exception:
        torch_version = None
    import onnx

    return {
        "format": PROFILE_FORMAT,
        "name": name,
        "version": version,
        "description": recipe.description,
        "created_with": {"conformance": __version__, "torch": torch_version, "onnx": onnx.__version__},
        "selection": {
            "cases": patterns,
            "seed": seed,
            "max_examples": draws,
            "per_case": keep,
            "groups": list(chosen_groups),
            "special_values": special,
            "exporter": exporter,
            "opset": opset,
            "must_pass": list(must),
        },
        "thresholds": {
            "overall": {"min_pass_rate": recipe.overall_min_pass_rate if min_pass_rate is None else rate},
            "categories": {c: {"min_pass_rate": rate} for c in categories},
        },
        "rules": (
            "pass rate = (pass + xfail) / instances; an xfail is a failure waived by a reviewed expectation. "
            "A category meets the profile when its pass rate reaches its minimum and none of its must-pass "
            "instances failed to pass (a waiver does not excuse a must-pass instance); the profile is met when "
            "every category meets it and so does the overall pass rate."
        ),
        "instances": instances,
        "excluded": excluded,
    }


def dumps(profile: Mapping[str, Any]) -> str:
    """Readable and diffable: the header indented, one line per instance."""
    head = {k: v for k, v in profile.items() if k not in ("instances", "excluded")}
    lines = json.dumps(head, indent=1, ensure_ascii=False).rstrip("}").rstrip().rstrip("\n")
    parts = [lines + ","]
    for key in ("instances", "excluded"):
        items = profile.get(key, [])
        body = ",\n".join("  " + json.dumps(x, ensure_ascii=False, sort_keys=True) for x in items)
        parts.append(f' "{key}": [\n{body}\n ]' if items else f' "{key}": []')
    return parts[0] + "\n" + ",\n".join(parts[1:]) + "\n}\n"


def save(profile: Mapping[str, Any], path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dumps(profile)
    if profile_hash(json.loads(text)) != profile_hash(profile):
        raise ProfileError("internal error: the written profile does not read back the same")
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- loading


_ENTRY_KEYS = {"id", "case", "category", "exporter", "opset", "must_pass", "model", "inputs", "outputs", "oracle"}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value))


def _is_rate(value: Any) -> bool:
    return _is_number(value) and 0 <= value <= 1


def _is_digest(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) is not None


def _check_tensor(t: Any, kind: str) -> str | None:
    """Why a listed input or output is malformed, or None."""
    if not isinstance(t, dict):
        return "is not an object"
    if not _is_digest(t.get("sha256")):
        return "has no sha256"
    if not isinstance(t.get("name", ""), str) or not isinstance(t.get("dtype"), str):
        return "needs a string name and dtype"
    shape = t.get("shape")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        return "needs a shape of whole numbers"
    if kind == "outputs" and not (
        _is_number(t.get("rtol")) and _is_number(t.get("atol")) and t["rtol"] >= 0 <= t["atol"]
    ):
        return "needs rtol and atol, finite and 0 or more"
    return None


def _check_entry(entry: dict[str, Any]) -> str | None:
    """Why a profile instance is malformed, or None: everything downstream reads is checked here."""
    if not isinstance(entry["id"], str) or not entry["id"]:
        return "'id' must be a non-empty string"
    for key in ("case", "category", "exporter", "oracle"):
        if not isinstance(entry[key], str):
            return f"{key!r} must be a string"
    if not isinstance(entry["opset"], int) or isinstance(entry["opset"], bool):
        return "'opset' must be a whole number"
    if not isinstance(entry["must_pass"], bool):
        return "'must_pass' must be true or false"
    if not isinstance(entry["model"], dict) or not _is_digest(entry["model"].get("sha256")):
        return "'model' must hold the model's sha256"
    for key in ("inputs", "outputs"):
        if not isinstance(entry[key], list):
            return f"{key!r} must be a list"
        for i, t in enumerate(entry[key]):
            why = _check_tensor(t, key)
            if why:
                return f"{key}[{i}] {why}"
    for key, kind in (("params", dict), ("op_class", str), ("check_signed_zero", bool), ("special_values", bool)):
        if key in entry and not isinstance(entry[key], kind):
            return f"{key!r} must be a {kind.__name__}"
    return None


def validate(profile: Any, source: str = "<profile>") -> dict[str, Any]:
    """Check a parsed profile's shape, all of it that is read later; the message names what is wrong.

    A profile comes from a file anyone can edit: a malformed one must stop
    here with a `ProfileError`, not as a KeyError halfway through a certification.
    """
    if not isinstance(profile, dict):
        raise ProfileError(f"{source}: a profile is a JSON object")
    try:  # a profile is hashed through its canonical JSON: what cannot be written there cannot be certified
        canonical_json(profile)
    except (ValueError, TypeError) as exc:
        raise ProfileError(f"{source}: holds a value canonical JSON cannot hold ({exc})") from None
    if profile.get("format") != PROFILE_FORMAT:
        raise ProfileError(f"{source}: profile format {profile.get('format')!r}, this tool reads {PROFILE_FORMAT}")
    for key in ("name", "version", "instances", "thresholds"):
        if key not in profile:
            raise ProfileError(f"{source}: missing {key!r}")
    if not isinstance(profile["name"], str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", profile["name"]):
        raise ProfileError(f"{source}: 'name' must be letters, digits, '.', '_' and '-'")
    if not isinstance(profile["version"], int) or isinstance(profile["version"], bool):
        raise ProfileError(f"{source}: 'version' must be a whole number")
    thresholds = profile["thresholds"]
    overall = thresholds.get("overall") if isinstance(thresholds, dict) else None
    categories = thresholds.get("categories") if isinstance(thresholds, dict) else None
    if not isinstance(overall, dict) or not _is_rate(overall.get("min_pass_rate")):
        raise ProfileError(f"{source}: 'thresholds.overall.min_pass_rate' must be a rate from 0 to 1")
    if not isinstance(categories, dict) or not all(
        isinstance(c, dict) and _is_rate(c.get("min_pass_rate")) for c in categories.values()
    ):
        raise ProfileError(f"{source}: 'thresholds.categories' must map categories to a min_pass_rate from 0 to 1")
    instances = profile["instances"]
    if not isinstance(instances, list) or not instances:
        raise ProfileError(f"{source}: 'instances' must be a non-empty list")
    seen: set[str] = set()
    for n, entry in enumerate(instances):
        if not isinstance(entry, dict) or not _ENTRY_KEYS <= set(entry):
            missing = sorted(_ENTRY_KEYS - set(entry)) if isinstance(entry, dict) else ["everything"]
            raise ProfileError(f"{source}: instance {n} lacks {', '.join(missing)}")
        why = _check_entry(entry)
        if why:
            raise ProfileError(f"{source}: instance {n}: {why}")
        if entry["id"] in seen:
            raise ProfileError(f"{source}: instance {entry['id']!r} is listed twice")
        if entry["category"] not in categories:
            raise ProfileError(f"{source}: instance {n}: category {entry['category']!r} has no threshold")
        seen.add(entry["id"])
    return profile


def shipped() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.json"))


def load(ref: str | Path) -> tuple[dict[str, Any], str]:
    """A profile by shipped name or by path, with its hash."""
    path = Path(ref)
    if not (path.suffix == ".json" or path.exists()):
        path = PROFILES_DIR / f"{ref}.json"
        if not path.exists():
            raise ProfileError(f"no shipped profile {str(ref)!r}; shipped: {', '.join(shipped()) or 'none'}")
    try:
        profile = json.loads(path.read_text())
    except OSError as exc:
        raise ProfileError(f"cannot read profile {path}: {exc.strerror}") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ProfileError(f"{path}: not valid JSON: {type(exc).__name__}: {exc}") from None
    validate(profile, str(path))
    return profile, profile_hash(profile)


def describe(profile: Mapping[str, Any], digest: str) -> dict[str, Any]:
    from collections import Counter

    return {
        "name": profile["name"],
        "version": profile["version"],
        "sha256": digest,
        "instances": len(profile["instances"]),
        "must_pass": sum(1 for e in profile["instances"] if e.get("must_pass")),
        "categories": dict(sorted(Counter(e["category"] for e in profile["instances"]).items())),
        "description": profile.get("description", ""),
    }


# --------------------------------------------------------------------------- materialize


def _slug(index: int, instance_id: str) -> str:
    return f"{index:04d}-" + re.sub(r"[^A-Za-z0-9._-]+", "_", instance_id).strip("_")[:100]


def _expected_files(entry: Mapping[str, Any]) -> dict[str, str]:
    files = {MODEL: entry["model"]["sha256"]}
    for i, x in enumerate(entry["inputs"]):
        files[layout.input_path(i)] = x["sha256"]
    for i, y in enumerate(entry["outputs"]):
        files[layout.output_path(i)] = y["sha256"]
    return files


def materialize(
    profile: Mapping[str, Any],
    directory: Path,
    *,
    cache_dir: Path | None = None,
    library: Sequence[Case] | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Write every instance in backend-test layout, plus the profile and a manifest.

    Artifacts come from the cache (exported on a miss, which needs torch);
    every file is checked against the profile's hashes before it is written.
    """
    from .export import ArtifactCache, default_cache_dir
    from .generate import discover_cases, draw_instances

    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise ProfileError(f"{directory} exists and is not empty; materialize into a new folder")
    say = log or (lambda _msg: None)
    by_path = {c.path: c for c in (discover_cases() if library is None else library)}
    if not by_path:
        raise ProfileError(
            "no case is installed (the built-in pack needs torch): materialize on a machine with torch, "
            "or certify from a materialized folder with --materialized DIR"
        )
    cache = ArtifactCache(Path(cache_dir or default_cache_dir()))
    selection = profile.get("selection", {})
    drawn: dict[tuple[str, int, bool], dict[str, CaseInstance]] = {}
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        rows = []
        total = len(profile["instances"])
        for index, entry in enumerate(profile["instances"]):
            case = by_path.get(entry["case"])
            if case is None:
                raise ProfileError(f"case {entry['case']!r} of instance {entry['id']} is not in the installed library")
            key = (case.path, int(entry.get("seed", 0)), bool(entry.get("special_values", False)))
            if key not in drawn:
                found = draw_instances(
                    case, seed=key[1], max_examples=int(selection.get("max_examples", 1)), special_values=key[2]
                )
                drawn[key] = {i.id: i for i in found}
            instance = drawn[key].get(entry["id"])
            if instance is None:
                raise ProfileError(f"instance {entry['id']} no longer draws from the library (the case changed)")
            _entry, files, why = freeze_instance(instance, entry["exporter"], int(entry["opset"]), cache)
            if not files:
                raise ProfileError(f"instance {entry['id']} cannot be built: {why}")
            expected = _expected_files(entry)
            if set(files) != set(expected):
                raise ProfileError(f"instance {entry['id']}: files {sorted(files)} differ from the profile's")
            rel = _slug(index, entry["id"])
            for name, data in files.items():
                if sha256(data) != expected[name]:
                    raise ProfileError(
                        f"instance {entry['id']}: {name} has sha256 {sha256(data)[:16]}…, the profile says "
                        f"{expected[name][:16]}… (a different torch, exporter or case source?)"
                    )
                target = tmp / rel / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            rows.append({"id": entry["id"], "dir": rel})
            say(f"[{index + 1}/{total}] {entry['id']}")
        (tmp / PROFILE_FILE).write_text(dumps(profile))
        manifest = {
            "profile": profile["name"],
            "version": profile["version"],
            "profile_sha256": profile_hash(profile),
            "layout": f"{layout.DESCRIPTION} (the expected outputs)",
            "instances": rows,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        if directory.exists():
            directory.rmdir()
        os.replace(tmp, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return directory


@dataclass(frozen=True)
class Materialized:
    profile: dict[str, Any]
    digest: str
    directory: Path
    #: Per profile instance, in profile order: its folder.
    folders: tuple[Path, ...]


def open_materialized(directory: Path, expect: str | None = None) -> Materialized:
    """A materialized profile, every file checked against the profile's hashes.

    `expect` is the hash of the profile the caller asked for: the folder must hold that one.
    """
    directory = Path(directory)
    try:
        profile = validate(json.loads((directory / PROFILE_FILE).read_text()), str(directory / PROFILE_FILE))
        manifest = json.loads((directory / MANIFEST).read_text())
    except OSError as exc:
        raise ProfileError(f"{directory} is not a materialized profile: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise ProfileError(f"{directory}: unreadable JSON: {type(exc).__name__}: {exc}") from None
    digest = profile_hash(profile)
    if expect is not None and digest != expect:
        raise ProfileError(
            f"{directory} holds profile {profile['name']} v{profile['version']} ({digest[:12]}), "
            f"not the one asked for ({expect[:12]})"
        )
    rows = manifest.get("instances", []) if isinstance(manifest, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ProfileError(f"{directory}/{MANIFEST} holds no list of instance folders")
    ids = [e["id"] for e in profile["instances"]]
    if [r.get("id") for r in rows] != ids:
        raise ProfileError(f"{directory}/{MANIFEST} does not list the profile's instances in order")
    folders = []
    root = directory.resolve()
    for entry, row in zip(profile["instances"], rows, strict=True):
        folder = (directory / str(row.get("dir", ""))).resolve()
        if root not in folder.parents:
            raise ProfileError(f"{directory}/{MANIFEST}: folder {row.get('dir')!r} is outside the profile folder")
        for name, digest_expected in _expected_files(entry).items():
            path = folder / name
            try:
                data = path.read_bytes()
            except OSError:
                raise ProfileError(f"{path} is missing") from None
            if sha256(data) != digest_expected:
                raise ProfileError(f"{path}: sha256 differs from the profile's ({entry['id']})")
        folders.append(folder)
    return Materialized(profile, digest, directory, tuple(folders))


def prebuilt_case(entry: Mapping[str, Any], folder: Path) -> Case:
    """A profile instance as a prebuilt case: judged against its expected outputs with its tolerances."""
    model = (folder / MODEL).read_bytes()
    inputs = tuple(
        parse_tensor((folder / DATA_SET / layout.input_file(i)).read_bytes()) for i in range(len(entry["inputs"]))
    )
    outputs = tuple(
        parse_tensor((folder / DATA_SET / layout.output_file(i)).read_bytes()) for i in range(len(entry["outputs"]))
    )
    floating = [o for o, y in zip(entry["outputs"], outputs, strict=True) if is_float(y.dtype)]
    # One tolerance per case: the loosest of its floating outputs (integer outputs compare exactly anyway).
    tolerance = (
        Tolerance(max(float(o["rtol"]) for o in floating), max(float(o["atol"]) for o in floating))
        if floating
        else None
    )
    category, _, name = entry["case"].rpartition("/")
    item = Prebuilt(model, inputs, outputs, label=entry["id"])
    try:
        op_class = OpClass(entry.get("op_class", "elementwise"))
    except ValueError:
        op_class = OpClass.ELEMENTWISE
    return Case(
        name=name,
        category=category or entry["category"],
        draw=lambda _d: None,
        op_class=op_class,
        tolerance=tolerance,
        unspecified=() if entry.get("check_signed_zero", True) else ("signed-zero",),
        prebuilt=lambda: [item],
    )
