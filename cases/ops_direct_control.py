"""Control flow (Scan, Loop, If) as torch's exporters never write it, each node with its graphs written by hand.

The suite's torch cases reach none of these, and torch would write few of
their forms: its dynamo exporter writes Scan only for torch's scan (every
input along axis 0, all inputs and outputs in one direction, no output
axes), Loop for torch's while_loop (no trip count, no scan output) and If
for torch.cond (each branch one call of a function on passed inputs); the
torchscript exporter writes Loop for scripted loops, trip count and
condition both given. Here each construct gets what the spec allows: Scan
with one or two scan inputs and one or two state variables, each input
scanned along a drawn axis (spelled negatively too) in either direction,
each scan output stacked along a drawn axis by appending or prepending,
every optional attribute given or left to its default; Loop with the trip
count and the condition each given or omitted ("") as the spec's table of
modes lists them (never both: the table makes that loop endless), zero
iterations, a body condition that is constant, passed through or computed
from a state, one or two loop-carried values, a scan output or none, and a
body that reads values of the outer graph; If with a 0-d or one-element
condition, either outcome, and branches that read outer values and return
tensors of different shapes.

A body is a fixed sequence of ops, each rounding in the case dtype: the spec
fixes every rounding, so the oracle runs the same sequence in the case dtype
and that is the truth (a float64 rerun would be another computation). Scan
with no iteration is not drawn: the spec's pseudo-code starts each scan
output as "[] denotes an empty tensor" and never says its shape. Loop with
none is drawn (M 0 or a false condition: modes its table lists), its
loop-carried values being the initial ones; its spec gives no shape for a
scan output then either, and the cases take [0, *element shape] (no element,
of the shape the body declares), which is what onnxruntime writes: a backend
differing only there is weaker evidence than one differing elsewhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from cases._draws import axis_of, direct
from conformance.casekit import ZERO_SIGN, ZERO_SIGN_NOTE, OnnxGraph
from conformance.generate import Draw
from conformance.model import OpClass, Spec

#: The dtypes drawn: the body ops (Add, Sub, Mul, Max, Neg, Less, Cast) take them all.
DTYPES = ("float32", "float64", "int64")

#: A Scan body's running state update, by ONNX op.
STATE_OPS = {"Add": torch.add, "Mul": torch.mul, "Max": torch.maximum}


def _value(name: str, dtype: str, shape: Any) -> Any:
    """A typed value of a subgraph (a body's input or output)."""
    from onnx import helper

    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), shape)


def _constant(name: str, array: np.ndarray) -> Any:
    """A Constant node inside a subgraph."""
    from onnx import helper, numpy_helper

    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(array), name))


def _tensor(d: Draw, label: str, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Integers stay plain: an overflow's result the spec leaves open, and the bodies add and multiply."""
    return d.tensor(label, shape, dtype, special=False if dtype == "int64" else None)


@direct(
    op_class=OpClass.ELEMENTWISE,
    unspecified=ZERO_SIGN,
    float64_truth=False,
    min_opset=16,
    notes="ONNX Scan (opset 16 semantics): a running state s' = Op(s, e) (Op Add, Mul or Max) over the scanned "
    "element e (the one scan input's, or the first minus the second's), a second state s2' = s2 + s', and scan "
    "outputs s' and s' * e per step. Element t of input i is its slice at t along scan_input_axes[i] "
    "(negative counts from the back), or at length-1-t where scan_input_directions[i] is 1; scan output k "
    "stacks its elements along scan_output_axes[k] of the output (rank one more than the element's), in step "
    "order, or reversed (prepended) where scan_output_directions[k] is 1; an omitted attribute means axis 0 "
    "and forward for every input or output. The final states and the scan outputs are the node's outputs."
    + ZERO_SIGN_NOTE
    + " Max(-0, +0) may give either.",
)
def scan_running(d: Draw) -> Spec:
    from onnx import helper

    dtype = d.dtype(DTYPES)
    op = d.choice("op", tuple(STATE_OPS))
    n_in = d.choice("num_scan_inputs", (1, 2))
    n_state = d.choice("num_states", (1, 2))
    n_out = d.choice("num_scan_outputs", (0, 1, 2))
    element = d.shape("element", max_dims=2, max_side=3)
    rank = len(element) + 1
    length = 1 if d.choice("sequence_length", ("one", "several")) == "one" else d.integer("length", 2, 4)

    attrs: dict[str, Any] = {"num_scan_inputs": n_in}
    in_axes, in_dirs, out_axes, out_dirs = [0] * n_in, [0] * n_in, [0] * n_out, [0] * n_out
    if d.boolean("scan_input_axes.given"):
        in_axes = [axis_of(d, rank, f"scan_input_axes[{i}]") for i in range(n_in)]
        attrs["scan_input_axes"] = in_axes
    if d.boolean("scan_input_directions.given"):
        in_dirs = [d.choice(f"scan_input_directions[{i}]", (0, 1)) for i in range(n_in)]
        attrs["scan_input_directions"] = in_dirs
    if n_out and d.boolean("scan_output_axes.given"):
        out_axes = [axis_of(d, rank, f"scan_output_axes[{k}]") for k in range(n_out)]
        attrs["scan_output_axes"] = out_axes
    if n_out and d.boolean("scan_output_directions.given"):
        out_dirs = [d.choice(f"scan_output_directions[{k}]", (0, 1)) for k in range(n_out)]
        attrs["scan_output_directions"] = out_dirs

    states = [_tensor(d, f"state{j}", element, dtype) for j in range(n_state)]
    scanned = []
    for i in range(n_in):
        shape = list(element)
        shape.insert(in_axes[i] % rank, length)
        scanned.append(_tensor(d, f"x{i}", tuple(shape), dtype))

    def fn(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        state = list(args[:n_state])
        rows: list[list[torch.Tensor]] = [[] for _ in range(n_out)]
        for t in range(length):
            parts = [
                x.select(a % rank, length - 1 - t if r else t)
                for x, a, r in zip(args[n_state:], in_axes, in_dirs, strict=True)
            ]
            e = parts[0] - parts[1] if n_in == 2 else parts[0]
            state[0] = STATE_OPS[op](state[0], e)
            if n_state == 2:
                state[1] = state[1] + state[0]
            for k, value in enumerate((state[0], state[0] * e)[:n_out]):
                rows[k].append(value)
        outs = [
            torch.stack(row[::-1] if r else row, dim=a % rank)
            for row, a, r in zip(rows, out_axes, out_dirs, strict=True)
        ]
        return (*state, *outs)

    e = "x0_t"
    nodes = []
    if n_in == 2:
        nodes.append(helper.make_node("Sub", ["x0_t", "x1_t"], ["e"]))
        e = "e"
    nodes.append(helper.make_node(op, ["s0_in", e], ["s0_out"]))
    if n_state == 2:
        nodes.append(helper.make_node("Add", ["s1_in", "s0_out"], ["s1_out"]))
    elements = [helper.make_node("Identity", ["s0_out"], ["y0_t"]), helper.make_node("Mul", ["s0_out", e], ["y1_t"])]
    nodes += elements[:n_out]
    body = helper.make_graph(
        nodes,
        "scan_body",
        [_value(f"s{j}_in", dtype, element) for j in range(n_state)]
        + [_value(f"x{i}_t", dtype, element) for i in range(n_in)],
        [_value(f"s{j}_out", dtype, element) for j in range(n_state)]
        + [_value(f"y{k}_t", dtype, element) for k in range(n_out)],
    )
    node = helper.make_node(
        "Scan",
        [f"input_{i}" for i in range(n_state + n_in)],
        [f"output_{j}" for j in range(n_state + n_out)],
        body=body,
        **attrs,
    )
    return Spec(OnnxGraph("Scan", fn, [node]), (*states, *scanned))


@direct(
    op_class=OpClass.ELEMENTWISE,
    float64_truth=False,
    min_opset=16,
    notes="ONNX Loop with a trip count M (a graph input or a constant; 0, 1 or more) and the condition omitted, "
    "given true or given false, by the spec's table of modes: (M, '') runs M iterations and the body's "
    "condition is 'ignored'; (M, cond) runs while i < M and cond, the body's condition (constant true, "
    "constant false, or the incoming one passed through) deciding each next iteration. The body computes "
    "v1' = v1 + step * (i + 1) (step read from the outer graph, or a Constant in the body; i the iteration "
    "number from 0, cast: the first iteration changes v1 too) and v2' = v1' - v2 (a second loop-carried "
    "value, drawn), and its scan output v1' is stacked per iteration: shape [iterations, *v1.shape]. With no "
    "iteration the outputs are the initial values and an empty [0, *v1.shape] scan output.",
)
def loop_counted(d: Draw) -> Spec:
    from onnx import helper

    dtype = d.dtype(DTYPES)
    cond_form = d.choice("cond", ("omitted", "true", "false"))
    # Where the condition input is omitted the spec ignores the body's condition: its own label, so covering
    # reaches each body condition there too.
    body_label = "body_cond.ignored" if cond_form == "omitted" else "body_cond"
    body_cond = d.choice(body_label, ("constant-true", "constant-false", "passed-through"))
    # A body that says stop shows whether it is heeded only where M allows a second iteration.
    stops = body_cond == "constant-false" and cond_form != "false"
    trip_form = d.choice("trip_count", ("several",) if stops else ("zero", "one", "several"))
    trips = d.integer("M", 2, 4) if trip_form == "several" else int(trip_form == "one")
    m_form = d.choice("M.form", ("graph-input", "constant"))
    carried = d.choice("carried", (1, 2))
    scan_outputs = d.choice("scan_outputs", (0, 1))
    step_from = d.choice("step", ("outer-scope", "body-constant"))
    shape = d.shape("state", max_dims=2, max_side=3)

    if cond_form == "omitted":
        iterations = trips  # the body's condition is ignored
    elif cond_form == "false":
        iterations = 0
    else:
        iterations = min(trips, 1) if body_cond == "constant-false" else trips

    inputs: list[np.ndarray] = []
    constants: dict[str, np.ndarray] = {}
    names: list[str] = []
    m_array = np.array(trips, dtype=np.int64)
    if m_form == "graph-input":
        names.append(f"input_{len(inputs)}")
        inputs.append(m_array)
    else:
        names.append("trip_count")
        constants["trip_count"] = m_array
    if cond_form == "omitted":
        names.append("")
    else:
        names.append(f"input_{len(inputs)}")
        inputs.append(np.array(cond_form == "true"))
    first = len(inputs)
    for j in range(carried):
        names.append(f"input_{len(inputs)}")
        inputs.append(_tensor(d, f"v{j}", shape, dtype))
    step_value = np.asarray(1.5 if dtype != "int64" else 2, dtype=dtype)
    if step_from == "outer-scope":
        step_name = f"input_{len(inputs)}"
        inputs.append(_tensor(d, "step_values", shape, dtype))

    def fn(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        v = list(args[first : first + carried])
        step = args[first + carried] if step_from == "outer-scope" else torch.tensor(step_value)
        rows = []
        for i in range(iterations):
            v[0] = v[0] + step.to(v[0].dtype) * torch.tensor(i + 1, dtype=v[0].dtype)
            if carried == 2:
                v[1] = v[0] - v[1]
            rows.append(v[0])
        if not scan_outputs:
            return tuple(v)
        stacked = torch.stack(rows) if rows else torch.empty((0, *shape), dtype=args[first].dtype)
        return (*v, stacked)

    nodes = []
    if step_from == "body-constant":
        nodes.append(_constant("step", step_value))
        step_name = "step"
    nodes += [
        _constant("one", np.array(1, dtype=np.int64)),
        helper.make_node("Add", ["i", "one"], ["count"]),
        helper.make_node("Cast", ["count"], ["count_cast"], to=helper.np_dtype_to_tensor_dtype(np.dtype(dtype))),
        helper.make_node("Mul", [step_name, "count_cast"], ["rise"]),
        helper.make_node("Add", ["v0_in", "rise"], ["v0_out"]),
    ]
    if body_cond == "passed-through":
        nodes.append(helper.make_node("Identity", ["cond_in"], ["cond_out"]))
    else:
        nodes.append(_constant("cond_out", np.array(body_cond == "constant-true")))
    if carried == 2:
        nodes.append(helper.make_node("Sub", ["v0_out", "v1_in"], ["v1_out"]))
    if scan_outputs:
        nodes.append(helper.make_node("Identity", ["v0_out"], ["y_i"]))
    body = helper.make_graph(
        nodes,
        "loop_body",
        [_value("i", "int64", []), _value("cond_in", "bool", [])]
        + [_value(f"v{j}_in", dtype, shape) for j in range(carried)],
        [_value("cond_out", "bool", [])]
        + [_value(f"v{j}_out", dtype, shape) for j in range(carried)]
        + ([_value("y_i", dtype, shape)] if scan_outputs else []),
    )
    outs = [f"output_{j}" for j in range(carried + scan_outputs)]
    node = helper.make_node("Loop", names, outs, body=body)
    return Spec(OnnxGraph("Loop", fn, [node], constants=constants), tuple(inputs))


def _steps(level: float, rise: float, limit: float, cap: int | None, going: bool) -> int:
    """Iterations of a loop that adds `rise` to `level` and goes on while level < limit (and i < cap)."""
    n = 0
    while going and (cap is None or n < cap):
        level += rise
        n += 1
        going = level < limit
    return n


@direct(
    op_class=OpClass.ELEMENTWISE,
    float64_truth=False,
    min_opset=16,
    notes="ONNX Loop stopped by its body: level' = level + rise, and the body's condition is level' < limit "
    "(rise and limit read from the outer graph), so the loop stops once the level passes the threshold: a "
    "while loop ('', cond) or one capped by a trip count M at, above or below the iterations the condition "
    "allows (M 0 included). The condition input (a graph input or a constant) decides whether the first "
    "iteration runs: false runs none, true at least one (a do-while) where M allows. A second loop-carried "
    "value acc' = acc + x (x from the outer graph, any shape) is drawn, and a scan output (acc', or level' "
    "without acc) stacked per iteration; with no iteration the outputs are the initial values and an empty "
    "scan output [0, *shape]. Levels and rises are multiples of 1/4, so each level is exact and the "
    "iteration count is the same in every dtype.",
)
def loop_early_exit(d: Draw) -> Spec:
    from onnx import helper

    dtype = d.dtype(DTYPES)
    m_form = d.choice("M", ("omitted", "above", "exact", "below"))
    cond_value = d.boolean("cond.value")
    cond_form = d.choice("cond.form", ("graph-input", "constant"))
    with_acc = d.boolean("accumulator")
    scan_outputs = d.choice("scan_outputs", (0, 1))
    shape = d.shape("acc_shape", max_dims=2, max_side=3) if with_acc else ()

    quarter = 1 if dtype == "int64" else 4  # integers step by whole units, floats by quarters
    level = d.integer("level0", -3 * quarter, 3 * quarter) / quarter
    rise = d.integer("rise", 1, 2 * quarter) / quarter
    limit = d.integer("limit", -2 * quarter, 5 * quarter) / quarter
    allowed = _steps(level, rise, limit, None, cond_value)
    cap = None if m_form == "omitted" else allowed
    if m_form == "above":
        cap = allowed + d.integer("M.over", 1, 3)
    elif m_form == "below":
        cap = max(allowed - d.integer("M.under", 1, 3), 0)
    iterations = _steps(level, rise, limit, cap, cond_value)

    inputs: list[np.ndarray] = []
    constants: dict[str, np.ndarray] = {}
    names: list[str] = []
    if cap is None:
        names.append("")
    else:
        names.append(f"input_{len(inputs)}")
        inputs.append(np.array(cap, dtype=np.int64))
    cond_array = np.array(cond_value)
    if cond_form == "graph-input":
        names.append(f"input_{len(inputs)}")
        inputs.append(cond_array)
    else:
        names.append("keep_going")
        constants["keep_going"] = cond_array
    first = len(inputs)
    inputs.append(np.array(level, dtype=dtype))
    names.append("input_" + str(first))
    if with_acc:
        inputs.append(_tensor(d, "acc0", shape, dtype))
        names.append(f"input_{first + 1}")
    outer = len(inputs)
    inputs += [np.array(rise, dtype=dtype), np.array(limit, dtype=dtype)]
    if with_acc:
        inputs.append(_tensor(d, "x", shape, dtype))

    def fn(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        lvl = args[first]
        acc = args[first + 1] if with_acc else None
        rise_t = args[outer]
        rows = []
        for _ in range(iterations):
            lvl = lvl + rise_t
            if acc is not None:
                acc = acc + args[outer + 2]
            rows.append(acc if acc is not None else lvl)
        carried = (lvl, acc) if acc is not None else (lvl,)
        if not scan_outputs:
            return carried
        like = args[first + 1] if with_acc else args[first]
        stacked = torch.stack(rows) if rows else torch.empty((0, *like.shape), dtype=like.dtype)
        return (*carried, stacked)

    rise_name, limit_name, x_name = (f"input_{outer + k}" for k in range(3))
    nodes = [
        helper.make_node("Add", ["level_in", rise_name], ["level_out"]),
        helper.make_node("Less", ["level_out", limit_name], ["cond_out"]),
    ]
    body_in = [_value("i", "int64", []), _value("cond_in", "bool", []), _value("level_in", dtype, [])]
    body_out = [_value("cond_out", "bool", []), _value("level_out", dtype, [])]
    if with_acc:
        nodes.append(helper.make_node("Add", ["acc_in", x_name], ["acc_out"]))
        body_in.append(_value("acc_in", dtype, shape))
        body_out.append(_value("acc_out", dtype, shape))
    if scan_outputs:
        nodes.append(helper.make_node("Identity", ["acc_out" if with_acc else "level_out"], ["y_i"]))
        body_out.append(_value("y_i", dtype, shape))
    body = helper.make_graph(nodes, "loop_body", body_in, body_out)
    outs = [f"output_{j}" for j in range(1 + with_acc + scan_outputs)]
    node = helper.make_node("Loop", names, outs, body=body)
    return Spec(OnnxGraph("Loop", fn, [node], constants=constants), tuple(inputs))


@direct(
    op_class=OpClass.ELEMENTWISE,
    min_opset=16,
    notes="ONNX If: the condition a bool graph input, 0-d or a one-element tensor ('The tensor must contain a "
    "single element'), true and false; the then branch returns x + 1 (and y * y), the else branch -y (and x), "
    "x and y read from the outer graph, their shapes the same or different (the spec lets an output's shape "
    "differ per branch: the If node's own outputs carry no shape, an Identity passes them on).",
)
def if_branches(d: Draw) -> Spec:
    from onnx import helper

    dtype = d.dtype(DTYPES)
    cond_form = d.choice("cond.form", ("scalar", "one-element"))
    cond_shape = () if cond_form == "scalar" else (1,) * d.choice("cond.rank", (1, 2))
    take = d.boolean("cond.value")
    outputs = d.choice("outputs", (1, 2))
    x_shape = d.shape("x_shape", max_dims=3, max_side=3)
    if d.choice("shapes", ("same", "different")) == "same":
        y_shape = x_shape
    else:
        y_shape = d.shape("y_shape", max_dims=3, max_side=4)
        if y_shape == x_shape:
            y_shape = (*x_shape, 2)
    x = _tensor(d, "x", x_shape, dtype)
    y = _tensor(d, "y", y_shape, dtype)

    def fn(c: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if bool(c.reshape(())):
            out = (a + torch.ones((), dtype=a.dtype), b * b)
        else:
            out = (-b, a.clone())
        return out[:outputs]

    then_nodes = [_constant("one", np.asarray(1, dtype=dtype)), helper.make_node("Add", ["input_1", "one"], ["t0"])]
    then_nodes.append(helper.make_node("Mul", ["input_2", "input_2"], ["t1"]))
    else_nodes = [helper.make_node("Neg", ["input_2"], ["e0"]), helper.make_node("Identity", ["input_1"], ["e1"])]
    then_shapes, else_shapes = (x_shape, y_shape), (y_shape, x_shape)
    then_branch = helper.make_graph(
        then_nodes[: 1 + outputs], "then", [], [_value(f"t{k}", dtype, then_shapes[k]) for k in range(outputs)]
    )
    else_branch = helper.make_graph(
        else_nodes[:outputs], "else", [], [_value(f"e{k}", dtype, else_shapes[k]) for k in range(outputs)]
    )
    if_out = [f"if_{k}" for k in range(outputs)]
    nodes = [helper.make_node("If", ["input_0"], if_out, then_branch=then_branch, else_branch=else_branch)]
    nodes += [helper.make_node("Identity", [if_out[k]], [f"output_{k}"]) for k in range(outputs)]
    return Spec(OnnxGraph("If", fn, nodes), (np.array(take).reshape(cond_shape), x, y))
