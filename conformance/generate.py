"""Generate stage: find case packs, select cases, and draw concrete instances.

Configuration (dtypes, shapes, attributes) is drawn with Hypothesis; input
values come from NumPy's PCG64 seeded by one Hypothesis-drawn integer per
tensor. That keeps every input byte-identical across machines for the same
seed, lets Hypothesis shrink shapes and attributes, and means that
`--special-values` changes the values drawn and nothing else: both modes make
the same Hypothesis draws.
"""

from __future__ import annotations

import fnmatch
import hashlib
import inspect
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.internal.conjecture.providers import AVAILABLE_PROVIDERS, Constants, HypothesisProvider

from .dtypes import FLOATS
from .model import Case, CaseInstance, OpClass, Spec, Tolerance, Unspecified

CASES_GROUP = "conformance.cases"
HYPOTHESIS_BACKEND = "onnx-conformance-stable"


class StableProvider(HypothesisProvider):
    """Hypothesis's own provider, minus the constants it harvests from local modules.

    Hypothesis now and then draws a constant found in the source of whatever
    non-site-packages modules happen to be imported. That makes a draw depend on
    the importing process (the CLI, pytest, an editable install), which breaks
    the promise that a seed gives the same instances everywhere. Its built-in
    constant pool is fixed per Hypothesis version and stays.
    """

    @property
    def _local_constants(self) -> Constants:  # type: ignore[override]
        return _NO_LOCAL_CONSTANTS


_NO_LOCAL_CONSTANTS = Constants()
# The documented extension point for alternative backends: a name mapped to a provider path.
AVAILABLE_PROVIDERS.setdefault(HYPOTHESIS_BACKEND, f"{__name__}.StableProvider")

FLOAT_DTYPES = FLOATS  # kept for packs written against it


class CaseError(ValueError):
    """A case pack or a case selection is unusable; the message says which and why."""


def numpy_dtype(name: str) -> np.dtype:
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


# --------------------------------------------------------------------------- cases


def case(
    category: str,
    *,
    name: str | None = None,
    op_class: OpClass = OpClass.ELEMENTWISE,
    min_opset: int = 7,
    tags: Sequence[str] = (),
    tolerance: Tolerance | None = None,
    unspecified: Sequence[Unspecified | str] = (),
    notes: str = "",
    float64_truth: bool = True,
) -> Callable[[Callable[[Draw], Spec]], Case]:
    """Turn a draw function into a `Case`; the function's module source keys the cache."""

    def wrap(fn: Callable[[Draw], Spec]) -> Case:
        return Case(
            name=name or fn.__name__.rstrip("_"),
            category=category,
            draw=fn,
            op_class=op_class,
            min_opset=min_opset,
            tags=tuple(tags),
            tolerance=tolerance,
            unspecified=tuple(unspecified),  # Case checks each value
            notes=notes or (inspect.getdoc(fn) or ""),
            float64_truth=float64_truth,
            source_hash=source_hash(fn),
        )

    return wrap


#: The project's modules a case's draw is built from: part of the source hash of a case module using them.
CASE_KIT = ("conformance.casekit", "conformance.dtypes")


def source_hash(fn: Callable[..., Any]) -> str:
    """The source of the case's module and of the helpers it uses (`_` modules of its package, CASE_KIT).

    Editing a helper changes the cache key of every case that uses it;
    editing a sibling case module changes nobody else's: a case module that
    needs another's function takes it from a helper module.
    """
    module = sys.modules.get(fn.__module__)
    if module is None:
        return hashlib.sha256(fn.__qualname__.encode()).hexdigest()[:16]
    top = module.__name__.split(".")[0]
    used = {module}
    for value in vars(module).values():
        owner = value if inspect.ismodule(value) else sys.modules.get(getattr(value, "__module__", "") or "")
        if owner is None or owner is module:
            continue
        parts = owner.__name__.split(".")
        helper = parts[0] == top and parts[-1].startswith("_") and not parts[-1].startswith("__")
        if helper or owner.__name__ in CASE_KIT:
            used.add(owner)
    h = hashlib.sha256()
    for m in sorted(used, key=lambda m: m.__name__):
        try:
            h.update(inspect.getsource(m).encode())
        except (OSError, TypeError):
            h.update(m.__name__.encode())
    return h.hexdigest()[:16]


def cases_in(namespace: Mapping[str, Any]) -> list[Case]:
    """The `Case` objects defined in a module namespace, in definition order."""
    return [v for v in namespace.values() if isinstance(v, Case)]


def _accepts_cache_dir(loader: Any) -> bool:
    try:
        return "cache_dir" in inspect.signature(loader).parameters
    except (TypeError, ValueError):
        return False


def discover_cases(cache_dir: Path | None = None) -> list[Case]:
    """Every case of every installed case pack, built-in included, via entry points.

    A pack whose loader takes `cache_dir` (the onnx-node pack keeps its store
    there) is given the run's artifact cache; the others are called bare.
    """
    found: dict[str, Case] = {}
    for ep in sorted(entry_points(group=CASES_GROUP), key=lambda e: e.name):
        try:
            loaded = ep.load()
            if callable(loaded):
                pack = loaded(cache_dir=cache_dir) if cache_dir is not None and _accepts_cache_dir(loaded) else loaded()
            else:
                pack = loaded
            items = list(pack)
        except Exception as exc:  # a broken third-party pack must not hide the others
            raise CaseError(f"case pack {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        for c in items:
            if not isinstance(c, Case):
                raise CaseError(f"case pack {ep.name!r} yielded {c!r}, not a conformance Case")
            if c.path in found:
                raise CaseError(f"case {c.path!r} is defined twice (pack {ep.name!r})")
            found[c.path] = c
    return list(found.values())


#: Cases with this tag run only when a pattern names them (ONNX's ~1,880 node tests, say):
#: a default run stays the generated library.
OPT_IN = "opt-in"


def select_cases(
    cases: Iterable[Case], patterns: str | Sequence[str] | None, *, include_opt_in: bool = False
) -> list[Case]:
    """Cases whose name or tree path matches any glob; an unmatched pattern is an error.

    With no pattern, every case except the opt-in ones (all of them with `include_opt_in`).
    """
    all_cases = list(cases)
    if not patterns:
        return all_cases if include_opt_in else [c for c in all_cases if OPT_IN not in c.tags]
    if isinstance(patterns, str):
        patterns = [p.strip() for p in patterns.split(",") if p.strip()]
    chosen: list[Case] = []
    seen: set[str] = set()
    for pattern in patterns:
        hits = [c for c in all_cases if fnmatch.fnmatchcase(c.name, pattern) or fnmatch.fnmatchcase(c.path, pattern)]
        if not hits:
            raise CaseError(f"no case matches {pattern!r}; `conformance list cases` shows them all")
        for c in hits:
            if c.path not in seen:
                seen.add(c.path)
                chosen.append(c)
    return chosen


# --------------------------------------------------------------------------- drawing


def special_values(dtype: np.dtype) -> np.ndarray:
    """The values that break implementations, for one dtype."""
    if dtype.kind == "b":
        return np.array([True, False])
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        vals = [info.min, info.max, 0, 1, info.max - 1]
        if info.min < 0:
            vals += [-1, info.min + 1]
        return np.array(vals, dtype=dtype)
    import ml_dtypes

    info = ml_dtypes.finfo(dtype)
    tiny, smallest_sub, big = float(info.tiny), float(info.smallest_subnormal), float(info.max)
    vals = [np.nan, np.inf, -np.inf, 0.0, -0.0, smallest_sub, -smallest_sub, tiny, -tiny, big, -big, 1e-30, 1e30]
    with np.errstate(over="ignore", under="ignore"):  # 1e30 is meant to overflow float16
        return np.array(vals, dtype=np.float64).astype(dtype)


def make_values(
    seed: int,
    shape: tuple[int, ...],
    dtype: np.dtype,
    low: float,
    high: float,
    special: bool,
) -> np.ndarray:
    """Deterministic values from a seed: PCG64 is specified to be stable across platforms."""
    rng = np.random.Generator(np.random.PCG64(seed))
    if dtype.kind == "b":
        values = rng.random(shape) < 0.5
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo, hi = max(int(low), int(info.min)), min(int(high), int(info.max))
        values = rng.integers(lo, hi, size=shape, endpoint=True, dtype=np.int64).astype(dtype)
    else:
        values = rng.uniform(low, high, size=shape).astype(dtype)
    if special and values.size and dtype.kind != "b":  # a boolean has no special values
        pool = special_values(dtype)
        mask = rng.random(shape) < 0.3
        picks = pool[rng.integers(0, len(pool), size=shape)]
        values = np.where(mask, picks, values).astype(dtype)
    return np.array(values, order="C")  # np.ascontiguousarray would turn a 0-d input into shape (1,)


@dataclass
class Draw:
    """The one way a case draws anything: labelled, recorded, reproducible.

    Every draw is shown under its label when Hypothesis reports a failing
    example, and is recorded in `params` so results and ids name what was drawn.
    """

    data: Any  # hypothesis DataObject
    special: bool = False
    params: dict[str, Any] = field(default_factory=dict)

    def draw(self, label: str, strategy: st.SearchStrategy[Any]) -> Any:
        value = self.data.draw(strategy, label=label)
        self.params[label] = value
        return value

    def choice(self, label: str, options: Sequence[Any]) -> Any:
        return self.draw(label, st.sampled_from(list(options)))

    def integer(self, label: str, low: int, high: int) -> int:
        return int(self.draw(label, st.integers(low, high)))

    def boolean(self, label: str) -> bool:
        return bool(self.draw(label, st.booleans()))

    def dtype(self, options: Sequence[str] = ("float32",), label: str = "dtype") -> str:
        return str(self.choice(label, options))

    def shape(
        self,
        label: str = "shape",
        *,
        min_dims: int = 0,
        max_dims: int = 4,
        min_side: int = 1,
        max_side: int = 5,
    ) -> tuple[int, ...]:
        dims = st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims)
        return tuple(self.draw(label, dims.map(tuple)))

    def broadcast_shapes(
        self, label: str = "shapes", *, num: int = 2, max_dims: int = 4
    ) -> tuple[tuple[int, ...], ...]:
        """Shapes that broadcast together, drawn by Hypothesis's own broadcasting strategy."""
        from hypothesis.extra.numpy import mutually_broadcastable_shapes

        drawn = self.data.draw(
            mutually_broadcastable_shapes(num_shapes=num, min_dims=0, max_dims=max_dims, min_side=1, max_side=4),
            label=label,
        )
        self.params[label] = [list(s) for s in drawn.input_shapes]
        return tuple(tuple(s) for s in drawn.input_shapes)

    def tensor(
        self,
        label: str,
        shape: Sequence[int],
        dtype: str = "float32",
        *,
        low: float = -3.0,
        high: float = 3.0,
        special: bool | None = None,
    ) -> np.ndarray:
        """A tensor whose values come from a drawn seed; specials only when the run asks.

        Pass `special=False` for inputs that must stay in a domain (indices, sizes).
        """
        value_seed = self.data.draw(st.integers(0, 2**32 - 1), label=f"{label}.seed")
        self.params[label] = f"{dtype}{list(shape)}"
        use_special = self.special if special is None else (special and self.special)
        return make_values(value_seed, tuple(shape), numpy_dtype(dtype), low, high, use_special)

    def weights_seed(self, label: str = "weights_seed") -> int:
        return int(self.draw(label, st.integers(0, 2**31 - 1)))


def _stable_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def instance_id(case: Case, params: Mapping[str, Any], inputs: Sequence[np.ndarray], special: bool) -> str:
    """Derived from the case path, drawn parameters and input bytes only: no addresses, no dict order."""
    h = hashlib.sha256()
    h.update(case.path.encode())
    h.update(_stable_json(params).encode())
    h.update(b"special" if special else b"plain")
    for arr in inputs:
        h.update(f"{arr.dtype}{arr.shape}".encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    return f"{case.path}[{h.hexdigest()[:12]}]"


def case_seed(run_seed: int, case: Case) -> int:
    """Per-case seed, so adding or removing a case leaves the others' draws unchanged."""
    digest = hashlib.sha256(f"{run_seed}:{case.path}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def draw_one(case: Case, data: Any, *, seed: int, special_values: bool = False) -> CaseInstance:
    """One instance from a Hypothesis `data` object: the body of every generating test."""
    d = Draw(data, special=special_values)
    spec = case.draw(d)
    inputs = tuple(np.asarray(x) for x in spec.inputs)
    if spec.dynamic_axes is not None:
        d.params["dynamic_axes"] = [{str(k): v for k, v in sorted(a.items())} for a in spec.dynamic_axes]
    if spec.export_inputs is not None:
        d.params["export_shapes"] = [list(np.shape(x)) for x in spec.export_inputs]
    return CaseInstance(
        case=case,
        id=instance_id(case, d.params, inputs, special_values),
        params=dict(d.params),
        inputs=inputs,
        module=spec.module,
        seed=seed,
        special_values=special_values,
        dynamic_axes=spec.dynamic_axes,
        export_inputs=None if spec.export_inputs is None else tuple(np.asarray(x) for x in spec.export_inputs),
    )


def generation_settings(max_examples: int, *, shrink: bool = False, database: Any = None) -> settings:
    """Settings for drawing instances: seeded, no deadline, and the stable provider.

    Collecting a run's instances needs only the generate phase; a pytest item
    that hunts for a failure also shrinks it, so its report names a minimal one.
    """
    phases = [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink] if shrink else [Phase.generate]
    return settings(
        max_examples=max_examples,
        database=database,
        deadline=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        derandomize=False,
        report_multiple_bugs=False,
        backend=HYPOTHESIS_BACKEND,
    )


def prebuilt_instances(case: Case, *, seed: int, max_examples: int) -> list[CaseInstance]:
    """A prebuilt case's instances are its data sets; nothing is drawn, so the seed changes nothing."""
    assert case.prebuilt is not None
    out = []
    for i, item in enumerate(case.prebuilt()[:max_examples]):
        h = hashlib.sha256(item.model)
        for arr in (*item.inputs, *item.outputs):
            h.update(f"{arr.dtype}{arr.shape}".encode())
            # An object array's bytes are addresses: hash what it holds (strings) instead.
            h.update(repr(arr.tolist()).encode() if arr.dtype.kind == "O" else np.ascontiguousarray(arr).tobytes())
        out.append(
            CaseInstance(
                case=case,
                id=f"{case.path}[{h.hexdigest()[:12]}]",
                params={"data_set": item.label or i},
                inputs=tuple(item.inputs),
                module=None,
                seed=seed,
                prebuilt=item,
            )
        )
    return out


def draw_instances(case: Case, *, seed: int, max_examples: int, special_values: bool = False) -> list[CaseInstance]:
    """Up to `max_examples` distinct instances of a case; the same seed gives the same list."""
    if case.prebuilt is not None:
        return prebuilt_instances(case, seed=seed, max_examples=max_examples)
    found: dict[str, CaseInstance] = {}

    @generation_settings(max_examples)
    @hypothesis_seed(case_seed(seed, case))
    @given(st.data())
    def collect(data: Any) -> None:
        instance = draw_one(case, data, seed=seed, special_values=special_values)
        found.setdefault(instance.id, instance)

    collect()
    return list(found.values())[:max_examples]
