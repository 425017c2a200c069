"""Freezing: draw a profile's instances from the library, export them and pin their files by hash.

Freezing needs torch (it exports and computes the oracles). The expected
output of an instance is the oracle the engine judges it by: the float64
truth rounded to the output dtype (with torch's own special values and zeros,
which the engine judges against torch in the case dtype), torch's output
where there is no truth, or the reference evaluator's where torch and the spec
diverge; each output records the tolerance it is judged with, so that judging
without torch gives our judgement.
"""

from __future__ import annotations

import fnmatch
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__, layout
from ..layout import DATA_SET, MODEL
from ..model import DIRECT_EXPORTER, Case, CaseInstance, Unspecified, is_float
from .profile import PROFILE_FORMAT, Profile, ProfileEntry, ProfileError, TensorEntry, sha256, valid_name

#: Dtypes outside the `core` profiles: they have their own (`low-precision`) or none (float64).
_NON_CORE = frozenset({"float16", "bfloat16", "float64"})
_DTYPE_NAMES = frozenset(
    {"float64", "float32", "float16", "bfloat16", "int8", "uint8", "int16", "int32", "int64", "bool"}
)
GROUPS = ("any", "standard", "float16", "bfloat16")


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
    raise ProfileError(f"unknown dtype group {group!r}; use {', '.join(GROUPS)}")


def _tensor_bytes(array: np.ndarray, name: str) -> bytes:
    from onnx import numpy_helper

    return numpy_helper.from_array(np.asarray(array), name=name).SerializeToString()


def _tensor_name(data: bytes) -> str:
    import onnx

    tensor = onnx.TensorProto()
    tensor.ParseFromString(data)
    return tensor.name


def truth_in_dtype(truth: Sequence[np.ndarray], source: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
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
    """Parameters as canonical JSON holds them: a norm's p=inf is written "inf", as report.json writes it."""

    def finite(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return str(v)
        if isinstance(v, dict):
            return {k: finite(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [finite(x) for x in v]
        return v

    return json.loads(json.dumps(finite(value), sort_keys=True, default=str))


def freeze_instance(
    instance: CaseInstance, exporter: str, opset: int, cache: Any, *, must_pass: bool = False
) -> tuple[ProfileEntry | None, dict[str, bytes], str]:
    """The profile entry of an instance and its files, or (None, {}, why) where it cannot be one.

    An instance that does not export, or that torch itself cannot run, says
    nothing about a backend: it is left out of the profile, with the reason.
    """
    from ..compare import oracle_agreement, tolerances
    from ..export import OracleError, build_artifact
    from ..model import OracleAgreement

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
            kind, expected = "truth", truth_in_dtype(o.truth, o.source)
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
        inputs.append(TensorEntry(_tensor_name(raw), x.dtype.name, tuple(x.shape), sha256(raw)))
    outputs = []
    for i, y in enumerate(expected):
        name = _tensor_name((data / layout.output_file(i)).read_bytes())
        raw = _tensor_bytes(y, name)
        files[layout.output_path(i)] = raw
        tol = bounds[i]
        outputs.append(TensorEntry(name, np.asarray(y).dtype.name, tuple(np.shape(y)), sha256(raw), tol.rtol, tol.atol))
    entry = ProfileEntry(
        id=instance.id,
        case=instance.case.path,
        category=instance.case.category,
        seed=instance.seed,
        special_values=instance.special_values,
        exporter=exporter,
        opset=opset,
        params=_jsonable(dict(instance.params)),
        must_pass=must_pass,
        op_class=str(instance.case.op_class),
        check_signed_zero=Unspecified.SIGNED_ZERO not in instance.case.unspecified,
        oracle=kind,
        oracle_agreement=str(agreement),
        model_sha256=sha256(files[MODEL]),
        inputs=tuple(inputs),
        outputs=tuple(outputs),
    )
    return entry, files, ""


def _matches(case: Case, patterns: Iterable[str]) -> bool:
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
) -> Profile:
    """Build a profile from the current library; a shipped name starts from its recipe."""
    from ..export import DEFAULT_OPSET, EXPORTERS, ArtifactCache, default_cache_dir
    from ..generate import discover_cases, draw_instances, select_cases

    if not valid_name(name):
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
        if g not in GROUPS:
            raise ProfileError(f"unknown dtype group {g!r}; use {', '.join(GROUPS)}")
    say = log or (lambda _msg: None)

    root = Path(cache_dir or default_cache_dir())
    selected = select_cases(discover_cases(root) if library is None else library, patterns)
    if recipe.categories:
        selected = [c for c in selected if c.category in recipe.categories]
    if cases is None:
        # Prebuilt packs (ONNX's node tests, say) bring their own expected outputs and are
        # certified as they are; a profile drawn from the library holds the torch-written cases.
        selected = [c for c in selected if c.prebuilt is None and c.category not in recipe.exclude]
    cache = ArtifactCache(root)
    instances: list[ProfileEntry] = []
    excluded: list[dict[str, str]] = []
    for n, case in enumerate(selected, 1):
        drawn = draw_instances(case, seed=seed, max_examples=draws, special_values=special)
        picks: list[CaseInstance] = []
        for group in chosen_groups:
            picks.extend([i for i in drawn if in_group(i, group) and i not in picks][:keep])
        if not picks:
            excluded.append({"case": case.path, "reason": f"no drawn instance in {'/'.join(chosen_groups)}"})
        for instance in picks:
            # A direct case writes its own node: it is frozen as that node, not as a torch export of its meaning.
            made_by = DIRECT_EXPORTER if case.direct else exporter
            entry, _files, why = freeze_instance(instance, made_by, opset, cache, must_pass=_matches(case, must))
            if entry is None:
                excluded.append({"id": instance.id, "case": case.path, "reason": why[:300]})
            else:
                instances.append(entry)
        say(f"[{n}/{len(selected)}] {case.path}: {len(picks)} instance(s)")
    if not instances:
        raise ProfileError(f"profile {name!r} would hold no instance")
    categories = sorted({e.category for e in instances})
    try:
        from importlib.metadata import version as dist_version

        torch_version = dist_version("torch")
    except Exception:
        torch_version = None
    import onnx

    document = {
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
        "instances": [e.to_dict() for e in instances],
        "excluded": excluded,
    }
    return Profile.from_document(document, f"profile {name}")
