"""The `onnx-node` case pack: ONNX's own node tests, run like any other case.

`onnx.backend.test.case.node.collect_testcases(None)` builds about 1,900 tests
in memory, each a one-node model with one data set. Every test becomes a
prebuilt case named after it (`onnx-node/test_abs`); its expected outputs are
the oracle and it is judged by ONNX's own rule, `|actual - expected| <= atol +
rtol * |expected|` with the test's rtol/atol (NaN equal to NaN, signed zeros
not told apart, strings compared exactly, bfloat16 outputs allowed two ULPs),
as `onnx.backend.test.runner` judges it. Tests of random ops are the
exception: ONNX's runner compares one process's draws with another's, which
passes only by chance; here their values are unspecified and only the
outputs' shapes and dtypes are judged.

Collecting the tests takes ONNX seconds (mostly computing the expected outputs
of the pooling tests), so it happens once per installed onnx: the tests are
written in ONNX's backend-test layout (`<name>/model.onnx`,
`test_data_set_N/input_M.pb`, `output_M.pb`, what `cmd_tools generate-data`
writes) with an index, under the artifact cache folder, keyed by onnx's version
and node-test sources. Listing the cases reads the index; a run reads the
folders of the tests it selects.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from importlib.metadata import version as _dist_version
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from .. import layout
from ..generate import OPT_IN
from ..model import Case, OpClass, Prebuilt, Spec, Tolerance

CATEGORY = "onnx-node"
#: Bump when the stored layout or the index changes: older stores are then ignored.
STORE_FORMAT = 2
#: Operators whose outputs are random draws: a test of them fixes shapes and dtypes, not values.
RANDOM_OPS = frozenset(
    {"Bernoulli", "Multinomial", "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike"}
)
INDEX = "index.json"
#: ONNX's runner defaults (onnx.backend.test.runner / case.node.expect).
DEFAULT_RTOL, DEFAULT_ATOL = 1e-3, 1e-7
#: ONNX's runner widens rtol for bfloat16 outputs to two bfloat16 ULPs.
BFLOAT16_RTOL = 2.0**-6


class Unrepresentable(ValueError):
    """A value the comparison cannot hold: a sequence, an optional, a map."""


def _node_package() -> Path:
    spec = find_spec("onnx")  # locating onnx does not import it
    if spec is None or spec.origin is None:
        raise ImportError("onnx is not installed")
    return Path(spec.origin).parent / "backend" / "test" / "case" / "node"


def fingerprint() -> str:
    """The installed onnx's version and node-test sources (names and sizes): what the store depends on."""
    h = hashlib.sha256(f"{STORE_FORMAT}:{_dist_version('onnx')}".encode())
    for entry in sorted(os.scandir(_node_package()), key=lambda e: e.name):
        if entry.name.endswith(".py"):
            h.update(f"{entry.name}:{entry.stat().st_size};".encode())
    return h.hexdigest()[:16]


def store_dir(cache_dir: Path | None, fp: str) -> Path:
    """Where the store lives: in the artifact cache the caller runs with (the default one when None)."""
    from ..export import default_cache_dir

    return Path(cache_dir or default_cache_dir()) / "onnx-node" / fp


@functools.cache
def node_tests() -> dict[str, Any]:
    """Every node test by name, collected once per process (ONNX's loader warns about overflows: hushed)."""
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return {tc.name: tc for tc in collect_testcases(None) if tc.kind == "node" and tc.model is not None}


# --------------------------------------------------------------------------- values


def as_array(value: Any, *, role: str = "output") -> np.ndarray:
    """One input or output as the engine holds it; sequences, optionals and maps raise `Unrepresentable`.

    String tensors become str arrays: inputs fixed-width (`<U`, whose bytes are
    the text, so instance ids and input hashes are stable), outputs object
    arrays of str (what onnx's numpy_helper and the backends give).
    """
    import onnx
    from onnx import numpy_helper

    if isinstance(value, onnx.TensorProto):
        value = numpy_helper.to_array(value)
    if value is None:
        raise Unrepresentable("an optional value (empty optional)")
    if isinstance(value, list | tuple):
        raise Unrepresentable("a sequence (or optional sequence) value")
    if isinstance(value, dict):
        raise Unrepresentable("a map value")
    if not isinstance(value, np.ndarray | np.generic):
        raise Unrepresentable(f"a value of type {type(value).__name__}")
    arr = np.asarray(value)
    if arr.dtype.kind not in "USO":
        return arr
    items = arr.ravel().tolist()
    if not all(isinstance(s, str | bytes) for s in items):
        raise Unrepresentable(f"an object tensor holding {type(items[0]).__name__}")
    text = [s.decode("utf-8") if isinstance(s, bytes) else s for s in items]
    return np.array(text, dtype=str if role == "input" else object).reshape(arr.shape)


def _convert(tc: Any) -> tuple[list[tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]], str]:
    """The test's data sets as arrays, or why they cannot be compared."""
    try:
        sets = [
            (tuple(as_array(v, role="input") for v in ins), tuple(as_array(v) for v in outs))
            for ins, outs in tc.data_sets or ()
        ]
    except Unrepresentable as exc:
        return [], f"ONNX node test {tc.name}: the comparison holds tensors only; this test has {exc}"
    return sets, ""


def _tolerance(tc: Any, sets: list[tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]]) -> tuple[float, float]:
    rtol = tc.rtol if tc.rtol is not None else DEFAULT_RTOL
    if any(y.dtype.name == "bfloat16" for _, outs in sets for y in outs):
        rtol = max(rtol, BFLOAT16_RTOL)
    return float(rtol), float(tc.atol if tc.atol is not None else DEFAULT_ATOL)


def _all_nodes(model: Any) -> list[Any]:
    """Every node of the model: the graph's, its subgraphs', and its local functions'."""
    found = []
    todo = [list(model.graph.node)] + [list(f.node) for f in model.functions]
    while todo:
        for node in todo.pop():
            found.append(node)
            todo.extend(list(a.g.node) for a in node.attribute if a.HasField("g"))
            todo.extend(list(g.node) for a in node.attribute for g in a.graphs)
    return found


def _entry(tc: Any) -> tuple[dict[str, Any], list[Any]]:
    sets, skip = _convert(tc)
    rtol, atol = _tolerance(tc, sets)
    node = tc.model.graph.node
    entry = {
        "name": tc.name,
        "rtol": rtol,
        "atol": atol,
        "op": node[0].op_type if len(node) == 1 else "",
        "domain": node[0].domain if len(node) == 1 else "",
        "opset": next((o.version for o in tc.model.opset_import if o.domain in ("", "ai.onnx")), 0),
        "skip": skip,
        "data_sets": [[len(ins), len(outs)] for ins, outs in sets],
        # Expanded tests hold the random op inside a function or as one node of several.
        "random": any(n.op_type in RANDOM_OPS for n in _all_nodes(tc.model)),
    }
    return entry, sets


# --------------------------------------------------------------------------- the store


def _write_tensor(path: Path, array: np.ndarray) -> None:
    from onnx import numpy_helper

    path.write_bytes(numpy_helper.from_array(array).SerializeToString())


def _read_tensor(path: Path, role: str) -> np.ndarray:
    from ..export import read_tensor

    return as_array(read_tensor(path), role=role)


def build_store(target: Path, fp: str) -> list[dict[str, Any]]:
    """Collect the tests and write them with their index; atomically, so a killed build leaves nothing half-made."""
    entries = []
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp: Path | None = Path(tempfile.mkdtemp(prefix=f".{fp}-", dir=target.parent))
    except OSError:
        tmp = None  # a read-only cache folder: the next process collects again, nothing worse
    try:
        for tc in node_tests().values():
            entry, sets = _entry(tc)
            entries.append(entry)
            if tmp is None:
                continue
            folder = tmp / tc.name
            folder.mkdir()
            (folder / layout.MODEL).write_bytes(tc.model.SerializeToString())
            for k, (ins, outs) in enumerate(sets):
                data = folder / layout.data_set(k)
                data.mkdir()
                for i, x in enumerate(ins):
                    _write_tensor(data / layout.input_file(i), x)
                for i, y in enumerate(outs):
                    _write_tensor(data / layout.output_file(i), y)
        if tmp is not None:
            (tmp / INDEX).write_text(json.dumps({"fingerprint": fp, "tests": entries}))
            try:
                os.replace(tmp, target)
            except OSError:
                pass  # another process got there first: its store is as good
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return entries


def load_index(store: Path, fp: str) -> list[dict[str, Any]]:
    """The tests' names, tolerances and shapes of data: from the store, built on first use."""
    try:
        data = json.loads((store / INDEX).read_text())
        if data.get("fingerprint") == fp:
            return list(data["tests"])
    except (OSError, ValueError, KeyError):
        pass
    return build_store(store, fp)


def data_sets(entry: dict[str, Any], store: Path) -> list[Prebuilt]:
    """The test's model and data sets, read from the store (collected, should it be gone or damaged)."""
    name = entry["name"]
    folder = store / name
    try:
        model = (folder / layout.MODEL).read_bytes()
        sets = [
            (
                tuple(_read_tensor(folder / layout.input_path(i, layout.data_set(k)), "input") for i in range(n_in)),
                tuple(_read_tensor(folder / layout.output_path(i, layout.data_set(k)), "output") for i in range(n_out)),
            )
            for k, (n_in, n_out) in enumerate(entry["data_sets"])
        ]
        skip = entry["skip"]
    except (OSError, ValueError, KeyError):
        tc = node_tests()[name]
        model = tc.model.SerializeToString()
        sets, skip = _convert(tc)
    if skip:
        return [Prebuilt(model, (), (), layout.DATA_SET, skip=skip)]
    return [Prebuilt(model, ins, outs, layout.data_set(k)) for k, (ins, outs) in enumerate(sets)]


# --------------------------------------------------------------------------- cases


def _not_drawn(draw: Any) -> Spec:
    raise TypeError(
        "ONNX node tests are prebuilt: nothing is drawn. Run them with `conformance run --cases 'onnx-node/*'`; "
        "the pytest plugin draws every case with Hypothesis and does not run prebuilt cases yet"
    )


def make_case(entry: dict[str, Any], store: Path, fp: str, onnx_version: str) -> Case:
    op = f"{entry['domain']}.{entry['op']}".lstrip(".") if entry.get("op") else ""
    return Case(
        name=entry["name"],
        category=CATEGORY,
        draw=_not_drawn,
        op_class=OpClass.ELEMENTWISE,  # unused: the test's own tolerance overrides the class rule
        min_opset=int(entry.get("opset") or 1),
        tags=("onnx-node", OPT_IN, *((f"op:{op}",) if op else ())),
        tolerance=Tolerance(entry["rtol"], entry["atol"]),
        # ONNX's runner (assert_allclose) does not tell -0.0 from +0.0; a random op's values are draws.
        unspecified=("signed-zero", *(("values",) if entry.get("random") else ())),
        notes=f"ONNX node test {entry['name']} (onnx {onnx_version}); its expected outputs are the oracle.",
        float64_truth=False,
        source_hash=fp,
        prebuilt=functools.partial(data_sets, entry, store),
    )


def load(cache_dir: Path | None = None) -> Sequence[Case]:
    """The pack's entry point: one case per node test, built from the index without collecting.

    The store lives in the artifact cache of the run that loads the pack, so
    `--cache-dir` (which `discover_cases` passes on) moves it with the rest.
    """
    try:
        fp = fingerprint()
    except (ImportError, OSError):
        return []  # no onnx with node tests installed: the pack is empty, not broken
    onnx_version = _dist_version("onnx")
    store = store_dir(cache_dir, fp)
    return [make_case(entry, store, fp, onnx_version) for entry in load_index(store, fp)]


# What `discover_cases` may know before calling `load`: every case is `onnx-node/test_*` and opt-in.
load.paths = (f"{CATEGORY}/test_*",)  # type: ignore[attr-defined]
load.opt_in = True  # type: ignore[attr-defined]
