"""Repro stage: a folder a backend's maintainers can run without this project.

A finding is only worth filing when the people who fix it can see it on
their own machine, with their own package and nothing of ours: the bundle
holds the model and its data in ONNX's backend-test layout (which their own
test runners read), a `repro.py` that needs only numpy, onnx and the
backend's package, and an ISSUE.md drafted from the data. A bundle is
checked by running its repro.py in a fresh interpreter before it is handed
out: one that does not exit 1 there does not show the bug.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from . import layout
from .localize import Localization, Status
from .model import is_float
from .oracle import graph_input_names

#: What repro.py exits with: the discrepancy shows, it does not, or the repro could not run at all.
REPRODUCED, NOT_REPRODUCED, CANNOT_RUN = 1, 0, 2
#: check_bundle's answer when repro.py ran past its time.
TIMED_OUT = 124

REPRO = "repro.py"
ISSUE = "ISSUE.md"


class NotReproduced(RuntimeError):
    """A bundle whose repro.py did not exit 1 in a fresh interpreter: it must not be handed out."""


# --------------------------------------------------------------------------- repro.py

#: Per backend: the package a maintainer needs, and the body of `run(model_path, names, inputs, expected)`.
#: Each mirrors the adapter in conformance/backends/, settings included, so the repro sees what the run saw.
_RUNNERS: dict[str, tuple[str, str]] = {
    "onnxruntime": (
        "onnxruntime",
        """    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    return session.run(None, dict(zip(names, inputs)))
""",
    ),
    "onnxruntime-noopt": (
        "onnxruntime",
        """    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    return session.run(None, dict(zip(names, inputs)))
""",
    ),
    "openvino": (
        "openvino",
        """    import openvino

    compiled = openvino.Core().compile_model(str(model_path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    result = compiled(list(inputs))
    return [np.asarray(result[output]).astype(want.dtype) for output, want in zip(compiled.outputs, expected)]
""",
    ),
    "reference": (
        "onnx",
        """    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(str(model_path)).run(None, dict(zip(names, inputs)))
""",
    ),
    "onnx2torch": (
        "onnx2torch and torch",
        """    import importlib.util
    import types

    import torch

    if importlib.util.find_spec("torchvision") is None:
        # onnx2torch imports torchvision for NonMaxSuppression and RoiAlign only; without it, a stand-in.
        stub, ops = types.ModuleType("torchvision"), types.ModuleType("torchvision.ops")
        stub.ops = ops
        ops.nms = ops.box_convert = ops.roi_align = None
        sys.modules["torchvision"], sys.modules["torchvision.ops"] = stub, ops
    import onnx2torch

    module = onnx2torch.convert(onnx.load(str(model_path))).eval()
    with torch.no_grad():
        result = module(*[torch.from_numpy(np.array(x)) for x in inputs])
    result = result if isinstance(result, (tuple, list)) else [result]
    return [r.numpy().astype(want.dtype) for r, want in zip(result, expected)]
""",
    ),
    "iree": (
        "iree-base-compiler and iree-base-runtime",
        """    import iree.compiler
    import iree.runtime
    from iree.compiler.extras import onnx_importer
    from iree.compiler.ir import Context

    # As `iree-import-onnx` then `iree-compile --iree-hal-target-backends=llvm-cpu` do, and the suite did.
    model = onnx.shape_inference.infer_shapes(onnx.load(str(model_path)), data_prop=True)
    info = onnx_importer.ModelInfo(model)
    module = info.create_module(context=Context()).operation
    onnx_importer.NodeImporter.define_function(info.main_graph, module).import_all()
    flags = ["--iree-llvmcpu-target-cpu=host", "--iree-input-demote-f64-to-f32=false"]
    lld = Path(iree.compiler.__file__).parent / "_mlir_libs" / "iree-lld"
    if " " in str(lld) and lld.exists():  # iree-compile cannot call its linker from a path with a space
        import tempfile

        link = Path(tempfile.mkdtemp()) / "iree-lld"
        link.symlink_to(lld)
        flags.append(f"--iree-llvmcpu-embedded-linker-path={link}")
    vmfb = iree.compiler.compile_str(
        module.get_asm(assume_verified=True), target_backends=["llvm-cpu"], input_type="onnx", extra_args=flags
    )
    context = iree.runtime.SystemContext(config=iree.runtime.Config("local-sync"))
    vm_module = iree.runtime.VmModule.copy_buffer(context.instance, vmfb)
    context.add_vm_module(vm_module)
    result = context.modules[vm_module.name][model.graph.name](*inputs)
    result = list(result) if isinstance(result, (tuple, list)) else [result]
    return [np.asarray(r.to_host() if hasattr(r, "to_host") else r).astype(want.dtype) for r, want in zip(result, expected)]
""",
    ),
    "tvm": (
        "apache-tvm",
        """    import tvm
    from tvm import relax
    from tvm.relax.frontend.onnx import from_onnx

    executable = tvm.compile(from_onnx(onnx.load(str(model_path)), keep_params_in_input=False), target="llvm")
    vm = relax.VirtualMachine(executable, tvm.cpu())
    result = vm["main"](*[tvm.runtime.tensor(x) for x in inputs])
    result = [result] if hasattr(result, "numpy") else list(result)
    return [np.asarray(r.numpy() if hasattr(r, "numpy") else list(r)).astype(want.dtype) for r, want in zip(result, expected)]
""",
    ),
    "tract": (
        "tract",
        """    import tract

    runnable = tract.onnx().load(str(model_path)).into_model().into_runnable()
    result = runnable.run([np.asarray(x, order="C") for x in inputs])  # ascontiguousarray makes 0-d 1-d
    return [np.asarray(r.to_numpy()).astype(want.dtype) for r, want in zip(result, expected)]
""",
    ),
    "tinygrad": (
        "tinygrad",
        """    from tinygrad.nn.onnx import OnnxRunner

    result = OnnxRunner(model_path)(dict(zip(names, inputs)))
    return [np.asarray(r.numpy()).astype(want.dtype) for r, want in zip(result.values(), expected)]
""",
    ),
}

_TEMPLATE = '''"""__TITLE__

Runs model.onnx on __BACKEND__ with the inputs in __DATA__/ and compares its
outputs with the expected ones there (the ONNX reference evaluator's).
Needs only numpy, onnx and __PACKAGE__.

Exit status: 1 when the discrepancy reproduces (a crash or a hang of the
backend included: the model runs in a child process), 0 when it does not, 2
when this script could not run the model at all (a missing package, say).
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

HERE = Path(__file__).resolve().parent
MODEL = HERE / __MODEL__
DATA = HERE / __DATA_REPR__
INPUT_FILES = __INPUT_FILES__
OUTPUT_FILES = __OUTPUT_FILES__
#: An element is right when |got - expected| <= ATOL + RTOL * |expected|; NaN positions, infinities and
#: (where SIGNED_ZERO) the sign of zeros are compared apart.
RTOL = __RTOL__
ATOL = __ATOL__
SIGNED_ZERO = __SIGNED_ZERO__


def read(path):
    tensor = onnx.TensorProto()
    tensor.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(tensor)


def run(model_path, names, inputs, expected):
__RUNNER__

def show(array):
    array = np.asarray(array)
    if array.size <= 64:
        return np.array2string(array, threshold=64)
    return f"<{array.dtype} {list(array.shape)}>"


def differences(k, got, want):
    """What is wrong with output k, one line per kind of difference; empty when it is right."""
    got = np.asarray(got)
    if got.shape != want.shape:
        return [f"output {k}: shape {list(got.shape)}, expected {list(want.shape)}"]
    if got.dtype != want.dtype:
        return [f"output {k}: dtype {got.dtype}, expected {want.dtype}"]
    if want.dtype.kind in "OSU" or got.size == 0:
        off = got != want
        return [f"output {k}: {int(off.sum())} elements differ"] if off.any() else []
    problems = []
    a = got.astype(np.float64)
    e = want.astype(np.float64)
    with np.errstate(all="ignore"):
        nan_off = np.isnan(a) != np.isnan(e)
        if nan_off.any():
            at = tuple(int(i) for i in np.argwhere(nan_off)[0])
            problems.append(
                f"output {k}: NaN where expected differs at {int(nan_off.sum())} of {a.size} positions; "
                f"first at {list(at)}: expected {float(e[at])!r}, got {float(a[at])!r}"
            )
        both = ~np.isnan(a) & ~np.isnan(e)
        inf_off = both & (np.isinf(a) | np.isinf(e)) & (a != e)
        if inf_off.any():
            at = tuple(int(i) for i in np.argwhere(inf_off)[0])
            problems.append(
                f"output {k}: infinities differ at {int(inf_off.sum())} positions; "
                f"first at {list(at)}: expected {float(e[at])!r}, got {float(a[at])!r}"
            )
        finite = np.isfinite(a) & np.isfinite(e)
        err = np.where(finite, np.abs(a - e), 0.0)
        off = finite & (err > ATOL + RTOL * np.abs(e))
        if off.any():
            at = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.where(off, err, -1.0))), a.shape))
            problems.append(
                f"output {k}: {int(off.sum())} of {a.size} elements off tolerance (rtol={RTOL:g}, atol={ATOL:g}); "
                f"max abs error {float(err.max()):.6g} at {list(at)}: expected {float(e[at])!r}, got {float(a[at])!r}"
            )
        if SIGNED_ZERO and want.dtype.kind == "f":
            zero_off = (a == 0) & (e == 0) & (np.signbit(a) != np.signbit(e))
            if zero_off.any():
                at = tuple(int(i) for i in np.argwhere(zero_off)[0])
                problems.append(f"output {k}: sign of zero differs at {int(zero_off.sum())} positions, first {list(at)}")
    return problems


def main():
    try:
        model = onnx.load(str(MODEL))
        initializers = {i.name for i in model.graph.initializer}
        names = [i.name for i in model.graph.input if i.name not in initializers]
        inputs = [read(DATA / f) for f in INPUT_FILES]
        expected = [read(DATA / f) for f in OUTPUT_FILES]
    except Exception as exc:
        print(f"cannot read the bundle: {type(exc).__name__}: {exc}")
        return 2
    try:
        got = run(MODEL, names, inputs, expected)
    except ImportError as exc:
        print(f"cannot run __BACKEND__: {exc}")
        return 2
    except Exception as exc:
        print(f"__BACKEND__ raised {type(exc).__name__}: {exc}")
        return 1
    for name, x in zip(names, inputs):
        print(f"input {name} ({x.dtype}, {list(x.shape)}):\\n{show(x)}")
    if len(got) != len(expected):
        print(f"__BACKEND__ returned {len(got)} outputs, expected {len(expected)}")
        return 1
    problems = [p for k, (g, w) in enumerate(zip(got, expected)) for p in differences(k, g, w)]
    for k, (g, w) in enumerate(zip(got, expected)):
        print(f"output {k} expected:\\n{show(w)}\\noutput {k} got:\\n{show(g)}")
    if problems:
        print("REPRODUCED:\\n" + "\\n".join(problems))
        return 1
    print("not reproduced: __BACKEND__ matches the expected outputs")
    return 0


def guarded():
    """main() in a child process: where __BACKEND__ crashes or hangs the interpreter, that is the bug."""
    if os.environ.get("REPRO_CHILD") == "1":
        return main()
    env = dict(os.environ, REPRO_CHILD="1")
    try:
        child = subprocess.run([sys.executable, str(Path(__file__).resolve())], env=env, timeout=HANG_SECONDS)
    except subprocess.TimeoutExpired:
        print(f"REPRODUCED: __BACKEND__ hangs: no answer after {HANG_SECONDS} s")
        return 1
    if child.returncode in (0, 1, 2):
        return child.returncode
    code = child.returncode
    try:
        how = f"killed by signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
    except ValueError:
        how = f"killed by signal {-code}"
    print(f"REPRODUCED: __BACKEND__ killed the process running the model ({how})")
    return 1


#: A run longer than this is a hang (the suite's own default timeout per result).
HANG_SECONDS = 120


if __name__ == "__main__":
    sys.exit(guarded())
'''


def repro_script(
    backend_name: str,
    *,
    title: str,
    n_inputs: int,
    n_outputs: int,
    rtol: float,
    atol: float,
    signed_zero: bool = True,
) -> str:
    """The text of repro.py for one backend; NotImplementedError for a backend without a standalone template."""
    if backend_name not in _RUNNERS:
        known = ", ".join(sorted(_RUNNERS))
        raise NotImplementedError(
            f"no standalone repro template for backend {backend_name!r} (its Python API needs more than a few "
            f"lines to drive); templates exist for: {known}"
        )
    package, runner = _RUNNERS[backend_name]
    replacements = {
        "__TITLE__": title.replace('"""', "'''").replace("\\", "\\\\"),
        "__BACKEND__": backend_name,
        "__PACKAGE__": package,
        "__MODEL__": repr(layout.MODEL),
        "__DATA_REPR__": repr(layout.DATA_SET),
        "__DATA__": layout.DATA_SET,
        "__INPUT_FILES__": repr([layout.input_file(i) for i in range(n_inputs)]),
        "__OUTPUT_FILES__": repr([layout.output_file(i) for i in range(n_outputs)]),
        "__RTOL__": repr(float(rtol)),
        "__ATOL__": repr(float(atol)),
        "__SIGNED_ZERO__": repr(bool(signed_zero)),
        "__RUNNER__": runner,
    }
    text = _TEMPLATE
    for key, value in replacements.items():
        text = text.replace(key, value)
    return text


# --------------------------------------------------------------------------- the bundle


def write_bundle(
    out: Path,
    *,
    model_bytes: bytes,
    inputs: Sequence[np.ndarray],
    expected: Sequence[np.ndarray],
    backend_name: str,
    title: str,
    issue_markdown: str,
    rtol: float,
    atol: float,
    signed_zero: bool = True,
) -> Path:
    """Write the bundle into `out` (created if needed) and return it; check it with `check_bundle` before use."""
    script = repro_script(
        backend_name,
        title=title,
        n_inputs=len(inputs),
        n_outputs=len(expected),
        rtol=rtol,
        atol=atol,
        signed_zero=signed_zero,
    )
    model = onnx.load_from_string(model_bytes)
    input_names = graph_input_names(model)
    output_names = [o.name for o in model.graph.output]
    if len(input_names) != len(inputs) or len(output_names) != len(expected):
        raise ValueError(
            f"the model has {len(input_names)} inputs and {len(output_names)} outputs; "
            f"{len(inputs)} inputs and {len(expected)} expected outputs given"
        )
    out = Path(out)
    data = out / layout.DATA_SET
    data.mkdir(parents=True, exist_ok=True)
    (out / layout.MODEL).write_bytes(model_bytes)
    for i, (name, array) in enumerate(zip(input_names, inputs, strict=True)):
        (data / layout.input_file(i)).write_bytes(numpy_helper.from_array(np.asarray(array), name).SerializeToString())
    for i, (name, array) in enumerate(zip(output_names, expected, strict=True)):
        (data / layout.output_file(i)).write_bytes(numpy_helper.from_array(np.asarray(array), name).SerializeToString())
    (out / REPRO).write_text(script)
    (out / ISSUE).write_text(f"# {title}\n\n{issue_markdown.rstrip()}\n")
    return out


def check_bundle(out: Path, *, timeout: float = 300.0) -> int:
    """repro.py's exit status in a fresh interpreter: 1 means the bundle shows the bug and may be handed out.

    A fresh process, not an import: the script must not lean on anything this
    process has loaded or set up.
    """
    try:
        done = subprocess.run(
            [sys.executable, str(Path(out) / REPRO)],
            cwd=str(out),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return TIMED_OUT
    return done.returncode


# --------------------------------------------------------------------------- the issue


@dataclass(frozen=True)
class Issue:
    """An issue's title and body, drafted from a localization's data."""

    title: str
    markdown: str


def _number(value: float | None) -> str:
    if value is None:
        return "nothing"
    if np.isnan(value):
        return "NaN"
    if np.isinf(value):
        return "inf" if value > 0 else "-inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return "-0" if value == 0 and np.signbit(value) else str(int(value))
    return f"{value:.9g}"


def _condition(inputs: Sequence[np.ndarray], constant: Sequence[int]) -> str:
    """What is special about the data inputs, in the words an issue title uses."""
    data = [np.asarray(x) for i, x in enumerate(inputs) if i not in constant]
    floats = [x for x in data if is_float(x.dtype) and x.size]
    if not floats:
        return ""
    with np.errstate(all="ignore"):
        values = np.concatenate([x.astype(np.float64).ravel() for x in floats])
    has_nan, has_inf = bool(np.isnan(values).any()), bool(np.isinf(values).any())
    if has_nan and has_inf:
        return " for an input with NaN and infinity"
    if has_nan:
        if any(x.ndim >= 1 and np.isnan(x.astype(np.float64)).all(axis=-1).any() for x in floats):
            return " for a row of NaN"
        return " for an input with NaN"
    if has_inf:
        return " for an input with infinity"
    if bool(((values == 0) & np.signbit(values)).any()):
        return " for an input with -0.0"
    return ""


def issue_title(localization: Localization) -> str:
    """'backend: Op returns X instead of Y for ... (dtype)', from the data; no wording is stored per op."""
    node = localization.node
    if localization.status is Status.WHOLE_GRAPH and localization.model_bytes:
        ops = [n.op_type for n in onnx.load_from_string(localization.model_bytes).graph.node]
        op = "the graph " + "+".join(ops[:6]) + ("+..." if len(ops) > 6 else "")
    else:
        op = node.op_type if node else "the model"
        if node and node.domain not in ("", "ai.onnx"):
            op = f"{node.domain}.{op}"
    dtypes = [str(x.dtype) for i, x in enumerate(localization.inputs) if i not in localization.constant_inputs]
    dtype = f" ({dtypes[0]})" if dtypes else ""
    backend = localization.backend
    if localization.error:
        first = localization.error.splitlines()[0]
        first = first if len(first) <= 90 else first[:87] + "..."
        return f"{backend}: {op} fails{dtype}: {first}"
    if len(localization.actual) != len(localization.expected):
        got, want = len(localization.actual), len(localization.expected)
        return f"{backend}: {op} returns {got} outputs where the graph declares {want}{dtype}"
    m = localization.metrics
    condition = _condition(localization.inputs, localization.constant_inputs)
    reshaped = _shape_mismatch(localization)
    if reshaped is not None:
        _, got, want = reshaped
        return f"{backend}: {op} returns shape {got} instead of {want}{condition}{dtype}"
    if m is None or (m.worst_actual is None and m.worst_expected is None):
        return f"{backend}: {op} returns wrong values{condition}{dtype}"
    return f"{backend}: {op} returns {_number(m.worst_actual)} instead of {_number(m.worst_expected)}{condition}{dtype}"


def _shape_mismatch(localization: Localization) -> tuple[int, list[int], list[int]] | None:
    """The first output whose shape differs from the expected one: (index, got, expected). Two empty outputs
    print alike (`[]`), so a wrong shape must be said in words."""
    for i, (a, e) in enumerate(zip(localization.actual, localization.expected, strict=False)):
        if np.shape(a) != np.shape(e):
            return i, list(np.shape(a)), list(np.shape(e))
    return None


def _block(array: np.ndarray, limit: int = 256) -> str:
    array = np.asarray(array)
    if array.size <= limit:
        text = np.array2string(array, threshold=limit, max_line_width=110)
    else:
        text = f"{array.dtype} {list(array.shape)}: {array.size} elements (in the bundle's .pb files)"
    return f"```\n{text}\n```"


def draft_issue(localization: Localization, *, backend_version: str) -> Issue:
    """The issue a maintainer reads: what, on which versions, the smallest input, expected against got."""
    whole = localization.status is Status.WHOLE_GRAPH and bool(localization.model_bytes)
    if not whole and (localization.status is not Status.NODE or localization.node is None):
        raise ValueError(f"only a localized node or a whole graph makes an issue; this one is {localization.status}")
    title = issue_title(localization)
    model = onnx.load_from_string(localization.model_bytes)
    names = graph_input_names(model)
    opsets = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import)
    lines = [
        f"**Backend**: {localization.backend} {backend_version}; onnx {onnx.__version__}; numpy {np.__version__}",
        "",
    ]
    if whole:
        lines += [
            f"**Graph** (opset {opsets}), {len(model.graph.node)} nodes: "
            + ", ".join(f"`{n.op_type}`" for n in model.graph.node)
            + ". Every node gives the right answer when run alone with the reference's inputs; the graph as a "
            "whole does not, so the backend's rewrites (fusion, graph optimizations) are in question.",
            "",
            "## Minimal input",
            "",
        ]
    else:
        node = localization.node
        assert node is not None
        lines += [
            f"**Operator**: `{node.op_type}`"
            + (f" (domain `{node.domain}`)" if node.domain else "")
            + f", opset {opsets}",
            "",
            "**Attributes**: "
            + (", ".join(f"`{k}={v!r}`" for k, v in node.attributes.items()) if node.attributes else "none"),
            "",
            "## Minimal input",
            "",
        ]
    for i, (name, x) in enumerate(zip(names, localization.inputs, strict=False)):
        kind = " (a constant in the original model)" if i in localization.constant_inputs else ""
        lines += [f"`{name}`: {x.dtype} {list(x.shape)}{kind}", "", _block(x), ""]
    lines += [f"## Expected ({localization.expected_by})", ""]
    lines += [_block(e) for e in localization.expected]
    lines += ["", f"## Actual ({localization.backend})", ""]
    if localization.error:
        lines += [f"```\n{localization.error}\n```"]
    else:
        lines += [_block(a) for a in localization.actual]
    m = localization.metrics
    reshaped = None if localization.error else _shape_mismatch(localization)
    if not localization.error and len(localization.actual) != len(localization.expected):
        lines += [
            "",
            f"The graph declares {len(localization.expected)} outputs; {localization.backend} returns "
            f"{len(localization.actual)}.",
        ]
    elif reshaped is not None:
        index, got, want = reshaped
        lines += ["", f"Output {index} has shape {got}; the reference evaluator's (and torch's) is {want}."]
    elif m is not None and not localization.error:
        lines += [
            "",
            f"Worst element: output {m.worst_output} at {list(m.worst_index)}: expected "
            f"{_number(m.worst_expected)}, got {_number(m.worst_actual)}. Max abs error {m.max_abs_error:.6g}, "
            f"max ulp {m.max_ulp:.6g}, {m.special_mismatches} special-value mismatches (NaN, infinity or signed "
            f"zero), {m.fraction_off:.1%} of {m.elements} elements off (tolerance rtol={localization.tolerance.rtol:.3g}, "
            f"atol={localization.tolerance.atol:.3g}).",
        ]
    lines += [
        "",
        "## How it was found",
        "",
        localization.evidence,
        "",
        "## Reproduce",
        "",
        f"`python {REPRO}` in this folder (needs numpy, onnx and {localization.backend}'s package); it exits 1 "
        f"while the discrepancy reproduces. `{layout.MODEL}` and `{layout.DATA_SET}/` follow ONNX's backend-test "
        "layout.",
    ]
    return Issue(title, "\n".join(lines))


def bundle_for(localization: Localization, out: Path, *, backend_version: str) -> Path:
    """A checked bundle for a localized node: written, run in a fresh interpreter, kept only when it reproduces.

    A bundle whose repro.py does not exit 1 raises NotReproduced (the folder is left for a look, never handed on).
    """
    issue = draft_issue(localization, backend_version=backend_version)
    out = write_bundle(
        out,
        model_bytes=localization.model_bytes,
        inputs=localization.inputs,
        expected=localization.expected,
        backend_name=localization.backend,
        title=issue.title,
        issue_markdown=issue.markdown,
        rtol=localization.tolerance.rtol,
        atol=localization.tolerance.atol,
    )
    code = check_bundle(out)
    if code != REPRODUCED:
        raise NotReproduced(f"{out}: repro.py exited {code} in a fresh interpreter, not {REPRODUCED}")
    return out
