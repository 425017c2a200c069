"""The shared model: what every stage of the data flow passes to the next.

Nothing here imports torch, so a vendor who only runs materialized artifacts
(onnx, numpy and a backend) can use the engine without it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from . import layout


class Outcome(enum.StrEnum):
    PASS = "pass"
    MISMATCH = "mismatch"
    SPECIAL = "special"
    SHAPE = "shape"
    DTYPE = "dtype"
    UNSUPPORTED = "unsupported"
    EXPORT_FAIL = "export-fail"
    LOAD_FAIL = "load-fail"
    RUN_ERROR = "run-error"
    CRASH = "crash"
    TIMEOUT = "timeout"
    XFAIL = "xfail"
    XPASS = "xpass"
    SKIP = "skip"


#: Outcomes that make a run fail: the backend (or the exporter) got something
#: wrong. `unsupported` is a coverage gap the backend declared, not an error.
FAILING = frozenset(
    {
        Outcome.MISMATCH,
        Outcome.SPECIAL,
        Outcome.SHAPE,
        Outcome.DTYPE,
        Outcome.EXPORT_FAIL,
        Outcome.LOAD_FAIL,
        Outcome.RUN_ERROR,
        Outcome.CRASH,
        Outcome.TIMEOUT,
        Outcome.XPASS,
    }
)


#: Outcomes reached by comparing outputs (as opposed to failing before any).
_MEASURED = frozenset({Outcome.PASS, Outcome.MISMATCH, Outcome.SPECIAL, Outcome.XFAIL, Outcome.XPASS})


class OracleAgreement(enum.StrEnum):
    """Whether torch (the source) and the ONNX reference evaluator (the spec) agree."""

    AGREE = "agree"
    DIVERGE = "diverge"
    #: The reference evaluator could not run the exported model at all.
    NO_SPEC = "no-spec"


class OpClass(enum.StrEnum):
    """Accuracy class of an op; the tolerance table is keyed by it and the dtype."""

    EXACT = "exact"
    ELEMENTWISE = "elementwise"
    TRANSCENDENTAL = "transcendental"
    REDUCTION = "reduction"
    MATMUL = "matmul"
    NORMALIZATION = "normalization"


class Values(enum.StrEnum):
    """How a run draws the values of a case's inputs; the rest of an instance is drawn the same in every mode."""

    #: Uniform in the case's range.
    PLAIN = "plain"
    #: The case's range with every special value of the dtype placed among them (NaN, ±inf, -0.0,
    #: subnormals, extremes, INT_MIN, ...).
    SPECIAL = "special"
    #: Magnitudes far outside the case's range: floats log-uniform up to 1e6 with either sign, integers
    #: over the dtype's whole range (past 2^24, where float32 stops being exact, and past 2^31 for int64).
    WIDE = "wide"


class Cover(enum.StrEnum):
    """How far drawing goes beyond random draws to reach a case's discrete parameters (choices, booleans)."""

    #: Random draws only: what frozen profiles were drawn with, so their instances stay reproducible.
    NONE = "none"
    #: Then one more instance for each value of each parameter the random draws missed.
    EACH = "each"
    #: And for each pair of values of two parameters that never met.
    PAIRS = "pairs"


class Unspecified(enum.StrEnum):
    """Special-value behaviour the ONNX spec leaves open for an op, which compare then does not judge.

    Only what compare knows how to leave unjudged is here: a case naming
    anything else is refused when it is defined, never silently judged anyway.
    """

    #: The sign of a zero result (-0.0 and +0.0 compare equal).
    SIGNED_ZERO = "signed-zero"
    #: The output values themselves: random draws (Bernoulli, RandomNormal, ...); shapes and dtypes are judged.
    VALUES = "values"


@dataclass(frozen=True)
class Tolerance:
    """An element is within tolerance when |actual - expected| <= atol + rtol * |expected|."""

    rtol: float
    atol: float


@dataclass(frozen=True)
class Spec:
    """What a case's draw function returns: the module to export and its inputs."""

    module: Any  # torch.nn.Module; typed loosely so this file needs no torch
    inputs: tuple[np.ndarray, ...]
    #: Per input, the axes exported as dynamic ({axis: name}); None exports static shapes.
    dynamic_axes: tuple[Mapping[int, str], ...] | None = None
    #: Inputs to trace the export with, when they should differ from the ones
    #: judged (a dynamic batch traced at 2 and run at 3 proves it is dynamic).
    export_inputs: tuple[np.ndarray, ...] | None = None


@dataclass(frozen=True, eq=False)
class Prebuilt:
    """A ready ONNX model with its inputs and expected outputs: an instance no exporter makes.

    ONNX's own node tests and materialized profiles arrive this way; they run
    without torch, and their expected outputs are the oracle.
    """

    model: bytes
    inputs: tuple[np.ndarray, ...]
    outputs: tuple[np.ndarray, ...]
    label: str = ""
    #: Why this instance cannot be judged (a value the comparison cannot hold,
    #: such as a sequence): it is then recorded as `skip` on every backend.
    skip: str = ""


#: The exporter name recorded for prebuilt instances.
PREBUILT_EXPORTER = "onnx"

#: The exporter name recorded for a case that writes its ONNX graph itself (`Case.direct`): an operator neither
#: of torch's exporters emits (Hardmax, LRN, Shrink, an attribute they never set) reached with drawn inputs.
DIRECT_EXPORTER = "direct"


@dataclass(frozen=True)
class Case:
    """An operator or model case, written once against PyTorch.

    `draw` receives a `conformance.generate.Draw` and returns a `Spec`; every
    configuration choice and every input goes through the Draw so that it is
    labelled, recorded and reproducible from the seed.
    """

    name: str
    category: str
    draw: Callable[[Any], Spec]
    op_class: OpClass = OpClass.ELEMENTWISE
    min_opset: int = 7
    tags: tuple[str, ...] = ()
    tolerance: Tolerance | None = None
    #: Special-value behaviour the ONNX spec leaves open for this op, e.g.
    #: (Unspecified.SIGNED_ZERO,): such differences are not judged.
    unspecified: tuple[Unspecified, ...] = ()
    notes: str = ""
    #: False where a float64 rerun would change the meaning (a cast to a
    #: narrower dtype, say): torch in the case dtype is then the truth.
    float64_truth: bool = True
    #: Hash of the case's source; part of the artifact cache key.
    source_hash: str = ""
    #: For cases that bring their own models (no `draw`, no exporter): returns the instances' data.
    prebuilt: Callable[[], Sequence[Prebuilt]] | None = None
    #: The drawn module writes its own ONNX graph (`casekit.OnnxNode`): it is "exported" by `DIRECT_EXPORTER`
    #: at every opset of a run, whatever exporters the run names, and its forward pass is the torch oracle.
    direct: bool = False

    def __post_init__(self) -> None:
        known = ", ".join(u.value for u in Unspecified)
        values = []
        for value in self.unspecified:
            try:
                values.append(Unspecified(value))
            except ValueError:
                raise ValueError(
                    f"case {self.category}/{self.name}: unspecified={value!r} is not something compare leaves "
                    f"unjudged (known: {known})"
                ) from None
        object.__setattr__(self, "unspecified", tuple(values))

    @property
    def path(self) -> str:
        """The case's name in the case tree, e.g. ``activation/relu``."""
        return f"{self.category}/{self.name}"


@dataclass(frozen=True, eq=False)
class CaseInstance:
    """One concrete draw of a case: stable id, recorded parameters, inputs."""

    case: Case
    id: str
    params: Mapping[str, Any]
    inputs: tuple[np.ndarray, ...]
    module: Any
    seed: int
    values: Values = Values.PLAIN
    dynamic_axes: tuple[Mapping[int, str], ...] | None = None
    export_inputs: tuple[np.ndarray, ...] | None = None
    prebuilt: Prebuilt | None = None
    #: The Hypothesis choices a random draw made (`replay.py` saves them when the instance fails); None for
    #: covering draws and data sets, whose choices mean nothing without their forcing.
    choices: bytes | None = field(default=None, compare=False, repr=False)
    #: Drawn again from the example database (a failure of an earlier run), not from this run's seed.
    replayed: bool = False

    @property
    def special_values(self) -> bool:
        return self.values is Values.SPECIAL


@dataclass(frozen=True)
class Oracles:
    """Reference outputs of an artifact.

    `source` is torch eager in the case dtype, `truth` torch in float64 (None
    when no output is floating), `spec` the ONNX reference evaluator on the
    exported model (None when it failed, with `spec_error` saying why).
    """

    source: tuple[np.ndarray, ...]
    truth: tuple[np.ndarray, ...] | None
    spec: tuple[np.ndarray, ...] | None
    spec_error: str = ""


@dataclass(frozen=True)
class Artifact:
    """An exported model with its inputs and oracle outputs, on disk."""

    key: str
    directory: Path
    exporter: str
    opset: int
    inputs: tuple[np.ndarray, ...]
    oracles: Oracles
    #: Set when the export failed: the exporter's own message. No model then.
    export_error: str = ""
    #: True when this artifact was built in this process rather than read from the cache.
    fresh: bool = False
    #: True when building it ran the exporter: a fresh artifact may share a model another instance exported.
    exported: bool = False

    @property
    def model_path(self) -> Path:
        return self.directory / layout.MODEL


@dataclass(frozen=True, order=True)
class OpUse:
    """One kind of node a graph holds: what the operator support matrix counts a result against.

    `op` is the op type, prefixed with its domain outside the default one;
    `dtype` is the element type the node computes in (its first typed input,
    ONNX's usual `T`, else its first output), or "" where inference cannot tell.
    """

    op: str
    dtype: str


@dataclass(frozen=True)
class Metrics:
    """Numeric distance between a backend's outputs and the expected ones.

    Recorded for every result, passing ones too, so a tolerance can be
    re-judged later without re-running.
    """

    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    max_ulp: float = 0.0
    fraction_off: float = 0.0
    worst_output: int = 0
    worst_index: tuple[int, ...] = ()
    worst_actual: float | None = None
    worst_expected: float | None = None
    special_mismatches: int = 0
    elements: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_abs_error": self.max_abs_error,
            "max_rel_error": self.max_rel_error,
            "max_ulp": self.max_ulp,
            "fraction_off": self.fraction_off,
            "worst_output": self.worst_output,
            "worst_index": list(self.worst_index),
            "worst_actual": self.worst_actual,
            "worst_expected": self.worst_expected,
            "special_mismatches": self.special_mismatches,
            "elements": self.elements,
        }


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    metrics: Metrics = field(default_factory=Metrics)
    message: str = ""


@dataclass(frozen=True)
class Result:
    """One row of the store: a case instance judged on one backend and exporter."""

    run_id: str
    case_id: str
    case: str
    category: str
    backend: str
    backend_version: str
    exporter: str
    opset: int
    outcome: Outcome
    oracle: OracleAgreement
    metrics: Metrics
    message: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    duration_s: float = 0.0
    #: The expectation that turned this result into xfail/xpass (its reason,
    #: link and the actual outcome), None when none applied.
    waiver: Mapping[str, Any] | None = None
    #: How the instance's input values were drawn.
    values: Values = Values.PLAIN

    @property
    def measured(self) -> bool:
        """The backend produced outputs that were compared, so the metrics mean something."""
        return self.metrics.elements > 0 and self.outcome in _MEASURED

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "case_id": self.case_id,
            "case": self.case,
            "category": self.category,
            "backend": self.backend,
            "backend_version": self.backend_version,
            "exporter": self.exporter,
            "opset": self.opset,
            "outcome": str(self.outcome),
            "oracle": str(self.oracle),
            "metrics": self.metrics.to_dict(),
            "message": self.message,
            "params": dict(self.params),
            "seed": self.seed,
            "duration_s": self.duration_s,
            "waiver": dict(self.waiver) if self.waiver else None,
            "values": str(self.values),
        }


def result_dtype(result: Result) -> str:
    """The dtype a result is about, as findings and expectations both read it: the case's `dtype`
    parameter, or where a case converts, the dtype it converts from; "-" for none."""
    params = result.params or {}
    for key in ("dtype", "from", "src_dtype"):
        if isinstance(params.get(key), str):
            return str(params[key])
    return "-"


@dataclass(frozen=True)
class Availability:
    ok: bool
    reason: str = ""


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def is_float(dtype: np.dtype) -> bool:
    """Floating, ml_dtypes' narrow floats included (bfloat16, float8_*, float4_* are not all of kind "f")."""
    return dtype.kind == "f" or dtype.name.startswith(("float", "bfloat"))


class Relayed(RuntimeError):
    """An exception raised in another process (a forked oracle or exporter), carried back as its text.

    The text opens with the original class (`TypeError: ...`): that class is the cause, so a recorded
    message names it and not this carrier."""


def error_text(exc: BaseException, limit: int = 2000, max_lines: int | None = None) -> str:
    """An exception as one recorded message: its type and words, no traceback, no colour codes."""
    said = str(exc) if isinstance(exc, Relayed) else f"{type(exc).__name__}: {exc}"
    text = _ANSI.sub("", said).strip()
    if max_lines is not None:
        text = "\n".join([ln for ln in text.splitlines() if ln.strip()][:max_lines])
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: A number with its sign: `-inf` too (one draw's worst element is -inf, another's inf: the same cause).
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?\b(?:nan|inf)\b", re.IGNORECASE)
_HEX = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{8,}\b|0x[0-9a-f]+", re.IGNORECASE)
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:/[^\s:'\"]+)+")
#: Quoted names of nodes, values and files differ between draws of one cause; torch's operator names
#: ('aten.sort') are the cause and stay.
_QUOTED_NAME = re.compile(r"(?<!overload=)(['\"])(?!aten\.|prims\.|torch\.)[A-Za-z_][\w./-]*\1")
#: torch.onnx's errors open with which of its three steps failed, the same words for every cause; the cause is
#: the first exception under its "## Exception summary" (`<class '...DispatchError'>: No ONNX function ...`).
_TORCH_SUMMARY = "## Exception summary"
_CLASS_LINE = re.compile(r"^<class '(?:[\w.]+\.)?(\w+)'>: (.+)$")
_WHERE_ONLY = re.compile(r"Exception from \S+:\d+:$")


#: Runs recorded before `Relayed` carried a forked exporter's or oracle's error as a RuntimeError around the
#: cause's class; the wrapper says nothing, and stripping it keeps their findings' ids those of today's runs.
_WRAPPED = re.compile(r"^RuntimeError: (?=[A-Z]\w*(?:Error|Exception): )")


#: torchscript's symbolic errors end with the torch IR value they met (`[Caused by the value '0 defined in (%0 :
#: Half(3, ...`): its dtype and shape are the draw's, not the cause's.
_TS_VALUE = re.compile(r"\s*\[Caused by the value .*$")


def _first_line(message: str) -> str:
    """The line that says why: the first one; for torch.onnx's errors the step and the cause under it; for an
    error chain (tract's anyhow "Caused by:" list) the first line and the root cause at the end of the chain."""
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    first = _TS_VALUE.sub("", _WRAPPED.sub("", lines[0])) if lines else ""
    if _TORCH_SUMMARY in lines:
        for ln in lines[lines.index(_TORCH_SUMMARY) + 1 :]:
            found = _CLASS_LINE.match(ln)
            if found:
                return f"{first.split(':', 1)[0]}: {found[1]}: {found[2]}"
    if "Caused by:" in lines[1:2]:
        return f"{first} Caused by: {re.sub(r'^[0-9]+: ', '', lines[-1])}"
    if _WHERE_ONLY.search(first) and len(lines) > 1:
        return f"{first} {lines[1]}"  # OpenVINO's "Exception from src/...cpp:198:" says where; the next line says why
    return first


#: Numbers in a shape or an index: a bracket holding only numbers (`[<n>, <n>, <n>]`, `(<n>,)`, `[<n>]`), a
#: run of them (`<n>, <n>`), an MLIR shape (`<n>x<n>x`). How many there are is the rank a draw happened to have.
_TOKEN = r"<n>(?:\.\.\.)?"
_BRACKETED = re.compile(rf"(?<=[\[(]){_TOKEN}(?:\s*,\s*{_TOKEN})*\s*,?(?=[\])])")
_NUMBER_RUN = re.compile(rf"{_TOKEN}(?:\s*,\s*{_TOKEN})+")
_DIM_RUN = re.compile(r"(?:<n>x)+(?:\.\.\.)?")


def normalize_message(message: str) -> str:
    """The line of a message that says why, without what differs between instances of one cause.

    Numbers, hashes, paths and quoted names (of nodes, values, files) go, and
    a run of numbers (a shape, an index) is one `<n>...` whatever its length,
    so two draws of the same bug, at any rank, read alike.
    """
    line = _first_line(message)
    line = _PATH.sub("<path>", line)
    line = _HEX.sub("<hex>", line)
    line = _QUOTED_NAME.sub("<name>", line)
    line = _NUMBER.sub("<n>", line)
    line = collapse_number_runs(line)
    return re.sub(r"\s+", " ", line)[:200]


def collapse_number_runs(text: str) -> str:
    """A shape or an index of any rank as `<n>...` (`[<n>...]`, `tensor<<n>x...f<n>>`); idempotent."""
    return _NUMBER_RUN.sub("<n>...", _BRACKETED.sub("<n>...", _DIM_RUN.sub("<n>x...", text)))


class Unsupported(Exception):
    """Raised by a backend that declares it cannot run a model (not a failure)."""


@runtime_checkable
class Backend(Protocol):
    """An ONNX backend adapter, found through the `conformance.backends` entry points."""

    name: str

    def version(self) -> str: ...

    def available(self) -> Availability: ...

    def prepare(self, model_path: Path) -> Any: ...

    def run(self, session: Any, inputs: Sequence[np.ndarray]) -> Sequence[np.ndarray]: ...
