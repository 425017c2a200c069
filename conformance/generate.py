"""Generate stage: find case packs, select cases, and draw concrete instances.

Configuration (dtypes, shapes, attributes) is drawn with Hypothesis; input
values come from NumPy's PCG64 seeded by one Hypothesis-drawn integer per
tensor. That keeps every input byte-identical across machines for the same
seed, lets Hypothesis shrink shapes and attributes, and means that the value
mode (plain, special, wide) changes the values drawn and nothing else: every
mode makes the same random Hypothesis draws. Covering (`Cover`) then adds
instances: in plain mode one for each parameter value (or pair) the random
draws missed, in special mode the grid of two broadcast operands' specials.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import inspect
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.database import ExampleDatabase, choices_to_bytes
from hypothesis.internal.conjecture.providers import AVAILABLE_PROVIDERS, Constants, HypothesisProvider

from .dtypes import FLOATS
from .model import (
    DIRECT_EXPORTER,
    PREBUILT_EXPORTER,
    Case,
    CaseInstance,
    Cover,
    OpClass,
    Spec,
    Tolerance,
    Unspecified,
    Values,
)
from .replay import MAX_KEPT
from .replay import key as replay_key

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
    direct: bool = False,
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
            direct=direct,
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


def discover_cases(
    cache_dir: Path | None = None, patterns: str | Sequence[str] | None = None, *, opt_in: bool = True
) -> list[Case]:
    """Every case of every installed case pack, built-in included, via entry points.

    A pack whose loader takes `cache_dir` (the onnx-node pack keeps its store
    there) is given the run's artifact cache; the others are called bare.
    Where every one of `patterns` (the selection `select_cases` gets next)
    starts with a pack's entry-point name and a slash (`onnx-node/*`), only
    those packs load: ONNX's node tests need not import torch for the
    generated library. The other way round, a loader that declares the
    `paths` globs all its cases match (`load.paths`) is not called where no
    pattern can meet them, nor, when it declares `opt_in` (all its cases
    are), for a selection without patterns that leaves opt-in cases out
    (`opt_in=False`): collecting ONNX's node tests into a new cache folder
    costs half a minute that `--cases relu` has no use for.
    """
    found: dict[str, Case] = {}
    eps = sorted(entry_points(group=CASES_GROUP), key=lambda e: e.name)
    only = packs_named(patterns, [e.name for e in eps])
    for ep in eps:
        if only is not None and ep.name not in only:
            continue
        try:
            loaded = ep.load()
            if not _pack_wanted(loaded, _pattern_list(patterns), opt_in):
                continue
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


def _pattern_list(patterns: str | Sequence[str] | None) -> list[str]:
    if isinstance(patterns, str):
        return [p.strip() for p in patterns.split(",") if p.strip()]
    return list(patterns or ())


def _pack_wanted(loader: Any, patterns: Sequence[str], opt_in: bool) -> bool:
    """Whether a pack can hold a case the selection takes, by what its loader declares (load it if unsure)."""
    if not patterns:
        return opt_in or not getattr(loader, "opt_in", False)
    paths = getattr(loader, "paths", None)
    if not paths:
        return True
    # `select_cases` matches a pattern against a case's path and its name (the path past its category).
    globs = [*paths, *(g.split("/", 1)[1] for g in paths if "/" in g)]
    return any(globs_may_meet(p, g) for p in patterns for g in globs)


_WILD = "*?[]"


def globs_may_meet(a: str, b: str) -> bool:
    """False only where no string matches both globs: where their literal heads (up to the first wildcard)
    or literal tails (past the last) disagree, or `a` is a plain name `b` does not match."""
    if not any(ch in a for ch in _WILD):
        return fnmatch.fnmatchcase(a, b)

    def head(g: str) -> str:
        return g[: min((g.index(ch) for ch in _WILD if ch in g), default=len(g))]

    def tail(g: str) -> str:
        return g[max((g.rindex(ch) + 1 for ch in _WILD if ch in g), default=0) :]

    ha, hb, ta, tb = head(a), head(b), tail(a), tail(b)
    return (ha.startswith(hb) or hb.startswith(ha)) and (ta.endswith(tb) or tb.endswith(ta))


def packs_named(patterns: str | Sequence[str] | None, names: Sequence[str]) -> set[str] | None:
    """The packs every pattern names by its leading `NAME/`, or None where one does not (load them all)."""
    if not patterns:
        return None
    patterns = _pattern_list(patterns)
    named = set()
    for pattern in patterns:
        head = pattern.split("/", 1)[0]
        if "/" not in pattern or head not in names or any(ch in head for ch in "*?["):
            return None
        named.add(head)
    return named


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
    patterns = _pattern_list(patterns)
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
        # Past 2^24 float32 stops holding every integer; past 2^31 an int32 accumulator overflows.
        vals += [v for v in (2**24 + 1, 2**31 + 1) if v <= info.max]
        vals += [-v for v in (2**24 + 1, 2**31 + 1) if -v >= info.min]
        return _distinct(np.array(vals, dtype=dtype))
    import ml_dtypes

    info = ml_dtypes.finfo(dtype)
    tiny, smallest_sub, big = float(info.tiny), float(info.smallest_subnormal), float(info.max)
    vals = [np.nan, np.inf, -np.inf, 0.0, -0.0, smallest_sub, -smallest_sub, tiny, -tiny, big, -big, 1e-30, 1e30]
    with np.errstate(over="ignore", under="ignore"):  # 1e30 is meant to overflow float16
        return _distinct(np.array(vals, dtype=np.float64).astype(dtype))


def _distinct(pool: np.ndarray) -> np.ndarray:
    """Each value once, by its bytes (-0.0 and +0.0 stay two), in pool order: uint8's min is its 0."""
    seen: set[bytes] = set()
    return pool[[i for i, v in enumerate(pool) if not (v.tobytes() in seen or seen.add(v.tobytes()))]]


#: Special values of one operand per axis of a grid instance (the largest pool, padded with plain values).
GRID_SIDE = 16
#: Axis lengths just past common vector and tile widths, for the large instance of a case.
LARGE_SIDES = (17, 33, 65, 129, 1025)
#: Elements per input at most in a large instance, so the nightly's time stays bounded.
LARGE_BUDGET = 1 << 16
#: Wide float magnitudes: log-uniform over these powers of ten, either sign.
WIDE_DECADES = (-3.0, 6.0)


def _wide(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(int(info.min), int(info.max), size=shape, endpoint=True, dtype=dtype)
    import ml_dtypes

    # Half the dtype's largest value at most: an infinity is a special value, not a wide one.
    top = float(ml_dtypes.finfo(dtype).max) / 2
    magnitude = np.minimum(10.0 ** rng.uniform(*WIDE_DECADES, size=shape), top)
    return np.where(rng.random(shape) < 0.5, -magnitude, magnitude).astype(dtype)


def make_values(
    seed: int,
    shape: tuple[int, ...],
    dtype: np.dtype,
    low: float,
    high: float,
    mode: Values | bool,
) -> np.ndarray:
    """Deterministic values from a seed: PCG64 is specified to be stable across platforms.

    In special mode every special value of the dtype is placed at least once
    (at drawn places) in a tensor that holds enough elements, a drawn subset
    of them in a smaller one, and 30% of the remaining elements come from the
    same pool.
    """
    mode = Values.SPECIAL if mode is True else Values.PLAIN if mode is False else Values(mode)
    rng = np.random.Generator(np.random.PCG64(seed))
    if dtype.kind == "b":
        values = rng.random(shape) < 0.5
    elif mode is Values.WIDE:
        values = _wide(rng, shape, dtype)
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo, hi = max(int(low), int(info.min)), min(int(high), int(info.max))
        values = rng.integers(lo, hi, size=shape, endpoint=True, dtype=np.int64).astype(dtype)
    else:
        # A case's range can pass a narrow dtype's largest value (float16's 65504): plain values stay finite.
        import ml_dtypes

        top = float(ml_dtypes.finfo(dtype).max)
        values = rng.uniform(max(low, -top), min(high, top), size=shape).astype(dtype)
    if mode is Values.SPECIAL and values.size and dtype.kind != "b":  # a boolean has no special values
        pool = special_values(dtype)
        flat = np.array(values, dtype=dtype).reshape(-1)
        places = rng.permutation(flat.size)
        every = min(len(pool), flat.size)
        flat[places[:every]] = pool[rng.permutation(len(pool))[:every]]
        rest = places[every:]
        rest = rest[rng.random(rest.size) < 0.3]
        flat[rest] = pool[rng.integers(0, len(pool), size=rest.size)]
        values = flat.reshape(shape)
    return np.array(values, order="C")  # np.ascontiguousarray would turn a 0-d input into shape (1,)


def grid_values(seed: int, axis: int, dtype: np.dtype, low: float, high: float) -> np.ndarray:
    """One operand of a grid: every special value along `axis` of a (GRID_SIDE, 1) or (1, GRID_SIDE) tensor.

    Broadcast against the other operand, it pairs every special value of one
    with every special value of the other, as a multiplication table does.
    """
    pool = special_values(dtype)[:GRID_SIDE]
    filler = make_values(seed, (GRID_SIDE - len(pool),), dtype, low, high, Values.PLAIN)
    line = np.concatenate([pool, filler]).astype(dtype)
    return np.array(line.reshape((GRID_SIDE, 1) if axis == 0 else (1, GRID_SIDE)), order="C")


#: Rows of a structured input, in turn: what reductions, arg-reductions, sorts and normalizations get wrong.
STRUCTURED_ROWS = ("nan", "+inf", "-inf", "ties", "signed-zeros", "one-nan")
#: Where a structured input's rows run: along the last axis, or along the first.
STRUCTURED_AXES = ("last", "first")
#: Cases that reduce, sort or normalize along an axis get structured special instances.
STRUCTURED_CATEGORIES = frozenset({"reduction", "sorting", "normalization", "pool", "attention", "embedding"})
STRUCTURED_OP_CLASSES = frozenset({OpClass.REDUCTION, OpClass.NORMALIZATION})


def structured(case: Case) -> bool:
    """Whether a case's result depends on whole rows (a reduction, a sort, a normalization)."""
    return case.category in STRUCTURED_CATEGORIES or case.op_class in STRUCTURED_OP_CLASSES


def structured_values(values: np.ndarray, axis: str) -> np.ndarray:
    """`values` with each row (along `axis`) one of STRUCTURED_ROWS in turn.

    A row all NaN, all +inf, all -inf, all equal (ties), all zeros of mixed
    sign, or plain with one NaN: the inputs a reduction or sort must handle
    and random values almost never are. Integers have no NaN or infinity:
    their rows are all INT_MIN, all INT_MAX, ties and zeros.
    """
    if values.ndim == 0 or values.size == 0 or values.dtype.kind == "b":
        return values
    out = np.array(values, copy=True)
    view = np.moveaxis(out, -1 if axis == "last" else 0, -1)  # a view: writing a row writes `out`
    integer = out.dtype.kind in "iu"
    low, high = (np.iinfo(out.dtype).min, np.iinfo(out.dtype).max) if integer else (-np.inf, np.inf)
    for r, index in enumerate(np.ndindex(view.shape[:-1])):
        row = view[index]
        kind = STRUCTURED_ROWS[r % len(STRUCTURED_ROWS)]
        if kind == "ties":
            row[:] = row[0]
        elif kind == "signed-zeros":
            row[:] = 0
            row[::2] = -0.0
        elif kind == "+inf":
            row[:] = high
        elif kind == "-inf" or (integer and kind == "nan"):
            row[:] = low
        elif kind == "nan":
            row[:] = np.nan
        elif kind == "one-nan" and not integer:
            row[len(row) // 2] = np.nan
    return out


@dataclass
class Draw:
    """The one way a case draws anything: labelled, recorded, reproducible.

    Every draw is shown under its label when Hypothesis reports a failing
    example, and is recorded in `params` so results and ids name what was drawn.
    """

    data: Any  # hypothesis DataObject
    values: Values = Values.PLAIN
    params: dict[str, Any] = field(default_factory=dict)
    #: A grid draw: the two broadcast operands are a column and a row of special values.
    grid: bool = False
    #: Grid operands filled so far (the grid instance counts only when both were).
    grid_filled: int = 0
    #: A structured draw (special mode): each input's rows along this axis are STRUCTURED_ROWS in turn.
    structured: str = ""
    #: Inputs a structured draw filled with rows (the instance counts only when one was).
    structured_filled: int = 0
    #: A large draw: the last axis of drawn shapes crosses this length (0: tiny shapes as drawn).
    large: int = 0
    #: Shapes a large draw lengthened (the large instance counts only when one was).
    lengthened: int = 0
    #: Values the covering pass asks for, by label: used wherever the case offers them.
    force: Mapping[str, Any] = field(default_factory=dict)
    #: Every value each choice and boolean offered in this draw: what covering must reach.
    domains: dict[str, list[Any]] = field(default_factory=dict)
    #: Per offered value (`context_key`), the discrete parameters drawn before it: where the case offers it.
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def special(self) -> bool:
        return self.values is Values.SPECIAL

    def draw(self, label: str, strategy: st.SearchStrategy[Any]) -> Any:
        value = self.data.draw(strategy, label=label)
        self.params[label] = value
        return value

    def _discrete(self, label: str, options: Sequence[Any]) -> tuple[bool, Any]:
        """Note the options offered; (True, value) where the covering pass forces one of them."""
        earlier = {k: self.params[k] for k in self.domains if k != label and k in self.params}
        for o in options:
            self.contexts.setdefault(context_key(label, o), earlier)
        _add_new(self.domains.setdefault(label, []), options)
        if label in self.force:
            forced = value_key(self.force[label])
            for o in options:
                if value_key(o) == forced:
                    self.params[label] = o
                    return True, o
        return False, None

    def choice(self, label: str, options: Sequence[Any], *, cover: bool = True) -> Any:
        """One of `options`; covering reaches each of them, unless `cover=False` says they are not a parameter.

        `cover=False` is for options computed from earlier draws (shapes that
        fit a drawn shape, say): they differ every draw and name no attribute.
        """
        options = list(options)
        if not cover:
            return self.draw(label, st.sampled_from(options))
        forced, value = self._discrete(label, options)
        return value if forced else self.draw(label, st.sampled_from(options))

    def integer(self, label: str, low: int, high: int) -> int:
        return int(self.draw(label, st.integers(low, high)))

    def boolean(self, label: str) -> bool:
        forced, value = self._discrete(label, (False, True))
        return bool(value) if forced else bool(self.draw(label, st.booleans()))

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
        shape = tuple(self.draw(label, dims.map(tuple)))
        if self.large and max_dims > 0:
            shape = self._lengthen(shape)
            self.params[label] = shape
        return shape

    def _lengthen(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape with its last axis (the vector and reduction axis in most kernels) past a tile width."""
        rest = shape[:-1]
        room = LARGE_BUDGET // max(1, int(np.prod(rest, dtype=np.int64)))
        side = max([s for s in LARGE_SIDES if s <= min(self.large, room)], default=LARGE_SIDES[0])
        self.lengthened += 1
        return (*rest, side)

    def broadcast_shapes(
        self, label: str = "shapes", *, num: int = 2, max_dims: int = 4
    ) -> tuple[tuple[int, ...], ...]:
        """Shapes that broadcast together, drawn by Hypothesis's own broadcasting strategy.

        In a grid draw, two operands are a column and a row instead.
        """
        from hypothesis.extra.numpy import mutually_broadcastable_shapes

        if self.grid and num == 2 and max_dims >= 2:
            column, row = (GRID_SIDE, 1), (1, GRID_SIDE)
            self.params[label] = [list(column), list(row)]
            return column, row
        if self.large:
            side = self._lengthen((1,))[0]
            shapes = ((2, side), *((side,) for _ in range(num - 1)))
            self.params[label] = [list(s) for s in shapes]
            return shapes

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
        if label in self.domains:
            # Its description would overwrite the parameter's value: covering would never see it drawn.
            raise CaseError(f"tensor label {label!r} already names a parameter; give the tensor a label of its own")
        value_seed = self.data.draw(st.integers(0, 2**32 - 1), label=f"{label}.seed")
        self.params[label] = f"{dtype}{list(shape)}"
        mode = self.values if special is None or special else Values.PLAIN
        grid_shape = ((GRID_SIDE, 1), (1, GRID_SIDE))
        if (
            self.grid
            and mode is Values.SPECIAL
            and self.grid_filled < 2
            and tuple(shape) == grid_shape[self.grid_filled]
        ):
            self.grid_filled += 1
            return grid_values(value_seed, self.grid_filled - 1, numpy_dtype(dtype), low, high)
        values = make_values(value_seed, tuple(shape), numpy_dtype(dtype), low, high, mode)
        if self.structured and mode is Values.SPECIAL and values.ndim and values.size and values.dtype.kind != "b":
            self.structured_filled += 1
            return structured_values(values, self.structured)
        return values

    def weights_seed(self, label: str = "weights_seed") -> int:
        return int(self.draw(label, st.integers(0, 2**31 - 1)))


def _stable_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def instance_id(case: Case, params: Mapping[str, Any], inputs: Sequence[np.ndarray], values: Values | bool) -> str:
    """Derived from the case path, drawn parameters and input bytes only: no addresses, no dict order."""
    h = hashlib.sha256()
    h.update(case.path.encode())
    h.update(_stable_json(params).encode())
    h.update(str(Values.SPECIAL if values is True else Values.PLAIN if values is False else values).encode())
    for arr in inputs:
        h.update(f"{arr.dtype}{arr.shape}".encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    return f"{case.path}[{h.hexdigest()[:12]}]"


def case_seed(run_seed: int, case: Case) -> int:
    """Per-case seed, so adding or removing a case leaves the others' draws unchanged."""
    digest = hashlib.sha256(f"{run_seed}:{case.path}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def same_value(a: Any, b: Any) -> bool:
    """Parameter values as recorded: 1, 1.0 and True are three different values."""
    return type(a) is type(b) and _stable_json(a) == _stable_json(b)


def value_key(value: Any) -> tuple[str, str]:
    """What `same_value` compares, as a key: two values are the same when their keys are equal.

    Drawing asks this of every known value of every parameter at each example:
    the keys of exact strings, integers, booleans and None (where equal values
    serialize equally; floats do not: 0.0 == -0.0) are memoized (`_scalar_key`).
    """
    if type(value) in _SCALAR_TYPES:
        return _scalar_key(type(value), value)
    return type(value).__name__, _stable_json(value)


_SCALAR_TYPES = frozenset({str, int, bool, type(None)})


@functools.lru_cache(maxsize=4096)
def _scalar_key(kind: type, value: Any) -> tuple[str, str]:
    """A pure function of its arguments, memoized (the type is an argument, so 1 and True stay apart)."""
    return kind.__name__, _stable_json(value)


def _add_new(known: list[Any], values: Iterable[Any]) -> None:
    """Append the values `known` does not hold yet, in order (a set of keys: drawing compares thousands)."""
    seen = {value_key(k) for k in known}
    for v in values:
        key = value_key(v)
        if key not in seen:
            seen.add(key)
            known.append(v)


def draw_one(
    case: Case, data: Any, *, seed: int, special_values: bool = False, values: Values | None = None
) -> CaseInstance:
    """One instance from a Hypothesis `data` object: the body of every generating test."""
    return draw_with(case, Draw(data, values=_mode(special_values, values)), seed=seed)


def _mode(special_values: bool, values: Values | str | None) -> Values:
    return Values(values) if values is not None else Values.SPECIAL if special_values else Values.PLAIN


def draw_with(case: Case, d: Draw, *, seed: int) -> CaseInstance:
    """The instance a case draws through `d`."""
    try:
        spec = case.draw(d)
    except CaseError as exc:
        raise CaseError(f"{case.path}: {exc}") from None
    inputs = tuple(np.asarray(x) for x in spec.inputs)
    if spec.dynamic_axes is not None:
        d.params["dynamic_axes"] = [{str(k): v for k, v in sorted(a.items())} for a in spec.dynamic_axes]
    if spec.export_inputs is not None:
        d.params["export_shapes"] = [list(np.shape(x)) for x in spec.export_inputs]
    return CaseInstance(
        case=case,
        id=instance_id(case, d.params, inputs, d.values),
        params=dict(d.params),
        inputs=inputs,
        module=spec.module,
        seed=seed,
        values=d.values,
        dynamic_axes=spec.dynamic_axes,
        export_inputs=None if spec.export_inputs is None else tuple(np.asarray(x) for x in spec.export_inputs),
    )


def _with_choices(instance: CaseInstance, data: Any) -> CaseInstance:
    """The instance with the choice sequence that drew it through `data` (what Hypothesis' example database
    stores), kept to replay it."""
    return replace(instance, choices=choices_to_bytes(data.conjecture_data.choices))


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


#: Draws tried for one forced combination before it is called undrawable (the case filters it out).
FORCE_TRIES = 10
#: Covering instances at most per case, so a case with many parameters cannot swamp a run.
MAX_COVERING = {Cover.NONE: 0, Cover.EACH: 48, Cover.PAIRS: 160}


@dataclass(frozen=True)
class ParameterCoverage:
    """One discrete parameter of a case: every value it offered, and the values the instances hold."""

    label: str
    values: tuple[Any, ...]
    drawn: tuple[Any, ...]

    @property
    def missing(self) -> tuple[Any, ...]:
        return tuple(v for v in self.values if not any(same_value(v, x) for x in self.drawn))


@dataclass(frozen=True)
class Drawn:
    instances: list[CaseInstance]
    #: Per choice or boolean label, every value the case offered in any draw, in first-seen order.
    domains: Mapping[str, tuple[Any, ...]]

    def coverage(self) -> list[ParameterCoverage]:
        return [
            ParameterCoverage(
                label,
                values,
                tuple(v for v in values if any(_holds(i.params, {label: v}) for i in self.instances)),
            )
            for label, values in sorted(self.domains.items())
        ]


def _holds(params: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return all(label in params and same_value(params[label], v) for label, v in wanted.items())


def context_key(label: str, value: Any) -> str:
    return f"{label}={type(value).__name__}:{_stable_json(value)}"


def _merge(into: dict[str, list[Any]], domains: Mapping[str, Sequence[Any]]) -> None:
    for label, values in domains.items():
        _add_new(into.setdefault(label, []), values)


def draw_modes(
    case: Case,
    *,
    seed: int,
    max_examples: int,
    modes: Sequence[Values],
    cover: Cover = Cover.NONE,
    examples: ExampleDatabase | None = None,
) -> list[CaseInstance]:
    """A case's instances in each value mode, as a run draws them (the engine, and the export pool again).

    A prebuilt case's data sets are what they are, whatever the mode: it is drawn once, in the first.
    """
    out: list[CaseInstance] = []
    for i, mode in enumerate(modes):
        if case.prebuilt is not None and i > 0:
            continue
        out.extend(
            draw_instances(case, seed=seed, max_examples=max_examples, values=mode, cover=cover, examples=examples)
        )
    return out


def exports_of(case: Case, exporters: Sequence[str], opsets: Sequence[int]) -> list[tuple[str, int]]:
    """The (exporter, opset) pairs a case's instances run as: a prebuilt one once, as it is; a direct one
    (it writes its graph itself) at every opset; the others with every exporter at every opset."""
    if case.prebuilt is not None:
        return [(PREBUILT_EXPORTER, opsets[0])]
    if case.direct:
        return [(DIRECT_EXPORTER, opset) for opset in opsets]
    return [(exporter, opset) for exporter in exporters for opset in opsets]


def jobs_of(
    instances: Sequence[CaseInstance], exporters: Sequence[str], opsets: Sequence[int]
) -> Iterator[tuple[CaseInstance, str, int]]:
    """Every instance with each (exporter, opset) its case runs as (the engine's jobs, and the export pool's)."""
    for instance in instances:
        if instance.prebuilt is not None:  # a profile's instance of a drawn case is prebuilt too
            yield instance, PREBUILT_EXPORTER, opsets[0]
            continue
        for exporter, opset in exports_of(instance.case, exporters, opsets):
            yield instance, exporter, opset


def draw_instances(
    case: Case,
    *,
    seed: int,
    max_examples: int,
    special_values: bool = False,
    values: Values | None = None,
    cover: Cover = Cover.NONE,
    examples: ExampleDatabase | None = None,
) -> list[CaseInstance]:
    """Up to `max_examples` distinct instances of a case, then any covering ones; the same seed, the same list."""
    return draw_covering(
        case,
        seed=seed,
        max_examples=max_examples,
        special_values=special_values,
        values=values,
        cover=cover,
        examples=examples,
    ).instances


def draw_covering(
    case: Case,
    *,
    seed: int,
    max_examples: int,
    special_values: bool = False,
    values: Values | None = None,
    cover: Cover = Cover.NONE,
    examples: ExampleDatabase | None = None,
) -> Drawn:
    """Failing draws kept in `examples` (`replay.py`) first, then the random draws, then (with `cover`) an
    instance for each parameter value or pair they missed.

    Random draws come first and are the same with or without covering, so
    the instances of a run without it (and of every frozen profile) keep
    their ids. Each missing value is forced into a fresh draw whose other
    parameters are drawn as usual; a case that rejects the combination
    (filters it) leaves that value reported as never drawn. In special mode,
    covering also adds the grid instance of a case with two broadcast
    operands: every special value of one against every special value of the other.
    """
    if case.prebuilt is not None:
        return Drawn(prebuilt_instances(case, seed=seed, max_examples=max_examples), {})
    mode = _mode(special_values, values)
    found: dict[str, CaseInstance] = {}
    domains: dict[str, list[Any]] = {}
    contexts: dict[str, dict[str, Any]] = {}

    @generation_settings(max_examples)
    @hypothesis_seed(case_seed(seed, case))
    @given(st.data())
    def collect(data: Any) -> None:
        d = Draw(data, values=mode)
        instance = _with_choices(draw_with(case, d, seed=seed), data)
        found.setdefault(instance.id, instance)
        _merge(domains, d.domains)
        for k, v in d.contexts.items():
            contexts.setdefault(k, v)

    _name_database_key(collect, case, b"draw")
    replayed = _replayed(case, mode, seed, examples, domains) if examples is not None else []
    collect()
    instances = replayed + [i for i in list(found.values())[:max_examples] if all(i.id != r.id for r in replayed)]
    cover = Cover(cover)
    if cover is not Cover.NONE and mode is Values.SPECIAL:
        # One grid per dtype: each dtype has its own specials (INT_MIN and -1, float16's subnormals).
        for dtype in domains.get("dtype") or [None]:
            force = {} if dtype is None else {"dtype": dtype}
            grid = _drawn_with(
                case,
                seed=seed,
                salt=b"grid:" + _stable_json(force).encode(),
                make=lambda data, f=force: Draw(data, values=mode, grid=True, force=f),
            )
            if grid is not None and all(grid.id != i.id for i in instances):
                instances.append(grid)
    if cover is not Cover.NONE and mode is Values.SPECIAL and structured(case):
        # Rows along each axis in a floating dtype (NaN and infinities), and along the last in an integer one.
        offered = [str(v) for v in domains.get("dtype", ())]
        floating = next((t for t in offered if t in FLOATS), None)
        integer = next((t for t in offered if t not in FLOATS and t != "bool"), None)
        wanted = [(axis, floating) for axis in STRUCTURED_AXES] + ([("last", integer)] if integer else [])
        for axis, dtype in wanted:
            force = {} if dtype is None else {"dtype": dtype}
            rows = _drawn_with(
                case,
                seed=seed,
                salt=f"structured:{axis}:{dtype}".encode(),
                make=lambda data, a=axis, f=force: Draw(data, values=mode, structured=a, force=f),
            )
            if rows is not None and all(rows.id != i.id for i in instances):
                instances.append(rows)
    if cover is not Cover.NONE and mode is Values.PLAIN:
        side = LARGE_SIDES[case_seed(seed, case) % len(LARGE_SIDES)]
        # Its parameters join the domains: a label it alone reaches (a path the random draws never took) is then
        # covered, or reported as never drawn, like any other.
        large = _drawn_with(
            case,
            seed=seed,
            salt=b"large",
            make=lambda data: Draw(data, values=mode, large=side),
            domains=domains,
            contexts=contexts,
        )
        if large is not None and all(large.id != i.id for i in instances):
            instances.append(large)
    # Parameters are covered in plain mode; the other modes draw the same parameters with other values.
    budget = MAX_COVERING[cover] if mode is Values.PLAIN else 0
    tried: set[str] = set()
    attempts = 3 * budget  # forced draws that find nothing cost as much as those that do
    while budget > 0 and attempts > 0:
        wanted = next((t for t in _targets(domains, cover) if _stable_json(t) not in tried), None)
        if wanted is None:
            break
        tried.add(_stable_json(wanted))
        if any(_holds(i.params, wanted) for i in instances):
            continue
        attempts -= 1
        # Where the case offered the value (a dtype, a mode), asked for with the value.
        where: dict[str, Any] = {}
        for label, v in wanted.items():
            where.update(contexts.get(context_key(label, v), {}))
        extra = _drawn_with(
            case,
            seed=seed,
            salt=_stable_json(wanted).encode(),
            make=lambda data, w={**where, **wanted}: Draw(data, values=mode, force=w),
            domains=domains,
            contexts=contexts,
        )
        if extra is not None and all(extra.id != i.id for i in instances):
            instances.append(extra)
            budget -= 1
    return Drawn(instances, {k: tuple(v) for k, v in domains.items()})


def _name_database_key(test: Any, case: Case, salt: bytes) -> None:
    """Name the key of a drawing test that keeps no database.

    Unnamed, Hypothesis derives it from the test's source by tokenizing it,
    at every call of every nested test: a tenth of drawing. Without a
    database the key is never read, so it changes no draw.
    """
    test._hypothesis_internal_database_key = case.path.encode() + b":" + salt


def _replayed(
    case: Case, mode: Values, seed: int, examples: ExampleDatabase, domains: dict[str, list[Any]]
) -> list[CaseInstance]:
    """The instances the choice sequences kept for this case and mode draw now, each once.

    Hypothesis' reuse phase replays what the database holds under the test's
    key; a sequence the case no longer accepts (its source changed) draws
    nothing, and one it now reads differently draws whatever it draws.
    """
    found: dict[str, CaseInstance] = {}
    database_key = replay_key(case.path, str(mode))
    if not any(True for _ in examples.fetch(database_key)):
        return []  # Hypothesis skips a test with no phase left to run: not a thing to ask of it

    @settings(generation_settings(MAX_KEPT), database=examples, phases=[Phase.reuse])
    @given(st.data())
    def replay(data: Any) -> None:
        d = Draw(data, values=mode)
        try:
            instance = _with_choices(draw_with(case, d, seed=seed), data)
        except Exception:
            return  # a kept draw this case can no longer make: nothing to replay
        found.setdefault(instance.id, replace(instance, replayed=True))
        _merge(domains, d.domains)

    # The key Hypothesis would derive from the function's source is the same for every case: name ours.
    replay._hypothesis_internal_database_key = database_key  # type: ignore[attr-defined]
    replay()
    return list(found.values())


def _targets(domains: Mapping[str, Sequence[Any]], cover: Cover) -> Iterator[dict[str, Any]]:
    """Single values first, then pairs: each target is looked at again as forced draws widen the domains."""
    if cover is Cover.NONE:
        return
    labels = sorted(domains)
    for label in labels:
        for v in list(domains[label]):
            yield {label: v}
    if cover is Cover.PAIRS:
        for i, a in enumerate(labels):
            for b in labels[i + 1 :]:
                for va in list(domains[a]):
                    for vb in list(domains[b]):
                        yield {a: va, b: vb}


def _drawn_with(
    case: Case,
    *,
    seed: int,
    salt: bytes,
    make: Callable[[Any], Draw],
    domains: dict[str, list[Any]] | None = None,
    contexts: dict[str, dict[str, Any]] | None = None,
) -> CaseInstance | None:
    """The draw through `make`'s `Draw` that does what it asks (forced values, a grid), or None.

    Of the draws that do, the one with the most input elements: Hypothesis
    starts from the simplest examples (scalars), where special values and
    vector code paths have no room. None when the case never offers or
    accepts it: it filters the combination, or (a grid) it has no two
    broadcast operands that take special values.
    """
    got: list[CaseInstance] = []
    mixed = int.from_bytes(hashlib.sha256(salt).digest()[:8], "little")

    @generation_settings(FORCE_TRIES)
    @hypothesis_seed(case_seed(seed, case) ^ mixed)
    @given(st.data())
    def collect(data: Any) -> None:
        d = make(data)
        instance = draw_with(case, d, seed=seed)
        if domains is not None:
            _merge(domains, d.domains)
        for k, v in d.contexts.items() if contexts is not None else ():
            contexts.setdefault(k, v)
        if (
            _holds(instance.params, d.force)
            and (not d.grid or d.grid_filled == 2)
            and (not d.large or d.lengthened)
            and (not d.structured or d.structured_filled)
        ):
            got.append(instance)

    _name_database_key(collect, case, b"force:" + salt)
    collect()
    return max(got, key=lambda i: sum(int(np.size(x)) for x in i.inputs), default=None)
