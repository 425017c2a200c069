"""Sequence and optional operators, which neither of torch's exporters writes in a graph the suite draws.

torch's exporters write no SequenceConstruct, SequenceEmpty, SequenceInsert,
SequenceErase, SequenceAt, SequenceLength, SplitToSequence,
ConcatFromSequence, Optional, OptionalHasElement or OptionalGetElement for
the modules the suite exports: a backend's kernels for them meet only
ONNX's fixed node tests. The harness feeds and compares tensors, so each
case builds its sequence or optional from the graph's inputs and turns it
back into tensors (ConcatFromSequence, SequenceAt, SequenceLength,
OptionalHasElement) for the outputs (`casekit.OnnxGraph`). Every position is
drawn given or omitted, positive or negative, the extremes of its range
included; positions are constants (initializers). Each forward pass is the
graph's meaning by the spec, written in torch.
"""

from __future__ import annotations

import numpy as np
import torch

from cases._draws import direct
from conformance.casekit import OnnxGraph
from conformance.generate import Draw
from conformance.model import OpClass, Spec

#: The element types drawn: every case's ops take any tensor type.
DTYPES = ("float32", "float16", "int64", "int32", "bool")


def _node(op_type: str, inputs: list[str], outputs: list[str], **attributes: object) -> object:
    from onnx import helper

    return helper.make_node(op_type, inputs, outputs, name=f"/{op_type}_{outputs[0]}", **attributes)


def _elem_type(dtype: str) -> int:
    from onnx import helper

    return int(helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))


def _position(d: Draw, label: str, positions: range) -> int | None:
    """A position of `positions`, every one of them offered (the extremes included), or omitted (None)."""
    p = d.choice(label, ("omitted", *positions))
    return None if p == "omitted" else int(p)


def _from_back(p: int, n: int) -> int:
    """A position as the spec reads it: a negative one counts from the back of n."""
    return p + n if p < 0 else p


@direct(
    op_class=OpClass.EXACT,
    notes="ONNX SequenceConstruct of 1 to 3 tensors, then ConcatFromSequence: new_axis 0 (given or left to its "
    "default) joins along an existing axis, in [-r, r - 1], the tensors of different lengths along it (an empty "
    "one included); new_axis 1 stacks them along a new axis, in [-r - 1, r] (0-d tensors included).",
)
def sequence_construct_concat(d: Draw) -> Spec:
    dtype = d.dtype(DTYPES)
    count = d.choice("tensors", (1, 2, 3))
    new_axis = d.choice("new_axis", (0, 1))
    explicit = new_axis == 1 or d.boolean("new_axis.explicit")
    rank = d.choice("rank", (0, 1, 2, 3) if new_axis else (1, 2, 3))
    reach = rank + new_axis  # the output's rank: the axis counts within it
    axis = d.choice("axis", tuple(range(-reach, reach)))
    base = [d.integer(f"side{i}", 1, 3) for i in range(rank)]
    shapes = [tuple(base)] * count
    if not new_axis:
        a = axis % rank
        lengths = d.choice("lengths", ("same", "different", "with_empty") if count > 1 else ("same", "with_empty"))
        if lengths != "same":
            sides = [d.integer(f"length{i}", 1, 3) for i in range(count)]
            if lengths == "different":
                sides[0] = max(sides[1:]) + 1  # the first longer than the rest: lengths differ
            else:
                sides[d.integer("empty_at", 0, count - 1)] = 0
            shapes = [(*base[:a], side, *base[a + 1 :]) for side in sides]
    tensors = tuple(d.tensor(f"x{i}", shape, dtype) for i, shape in enumerate(shapes))

    def fn(*xs: torch.Tensor) -> torch.Tensor:
        return torch.stack(xs, dim=axis) if new_axis else torch.cat(xs, dim=axis)

    attrs = {"axis": axis, **({"new_axis": new_axis} if explicit else {})}
    nodes = [
        _node("SequenceConstruct", [f"input_{i}" for i in range(count)], ["seq"]),
        _node("ConcatFromSequence", ["seq"], ["output_0"], **attrs),
    ]
    return Spec(OnnxGraph("ConcatFromSequence", fn, nodes), tensors)


@direct(
    op_class=OpClass.EXACT,
    notes="ONNX SequenceInsert twice into a sequence of n = 0 (SequenceEmpty, its dtype given or left to its "
    "default float), 1 or 2 tensors (SequenceConstruct): each position omitted (the back) or any of [-n, n], "
    "a negative one counting from the back (-n is the front, n the back), int64 or int32. The result is read "
    "by ConcatFromSequence along axis 0 (the tensors of different lengths) and SequenceLength.",
)
def sequence_insert(d: Draw) -> Spec:
    dtype = d.dtype(DTYPES)
    start = d.choice("start", (0, 1, 2))
    explicit_dtype = start == 0 and (dtype != "float32" or d.boolean("dtype.explicit"))
    # Into an empty sequence only 0 is a position: a label of its own, so covering writes it there too.
    first = _position(d, "position1" if start else "position1.into_empty", range(-start, start + 1))
    second = _position(d, "position2", range(-(start + 1), start + 2))
    index_dtype = d.choice("position.dtype", ("int64", "int32"))
    trailing = d.shape("trailing", max_dims=2, max_side=3)
    tensors = tuple(d.tensor(f"x{i}", (d.integer(f"length{i}", 1, 3), *trailing), dtype) for i in range(start + 2))

    def fn(*xs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        seq = list(xs[:start])
        for tensor, p in ((xs[start], first), (xs[start + 1], second)):
            seq.insert(len(seq) if p is None else _from_back(p, len(seq)), tensor)
        return torch.cat(seq, dim=0), torch.tensor(len(seq), dtype=torch.int64)

    if start:
        nodes = [_node("SequenceConstruct", [f"input_{i}" for i in range(start)], ["seq0"])]
    else:
        nodes = [_node("SequenceEmpty", [], ["seq0"], **({"dtype": _elem_type(dtype)} if explicit_dtype else {}))]
    constants = {}
    for k, p in enumerate((first, second), start=1):
        if p is not None:
            constants[f"position{k}"] = np.array(p, dtype=index_dtype)
        where = [f"position{k}"] if p is not None else []
        nodes.append(_node("SequenceInsert", [f"seq{k - 1}", f"input_{start + k - 1}", *where], [f"seq{k}"]))
    nodes += [
        _node("ConcatFromSequence", ["seq2"], ["output_0"], axis=0),
        _node("SequenceLength", ["seq2"], ["output_1"]),
    ]
    return Spec(OnnxGraph("SequenceInsert", fn, nodes, constants=constants), tensors)


@direct(
    op_class=OpClass.EXACT,
    notes="ONNX SequenceErase from a SequenceConstruct of 1 to 4 tensors of different shapes and ranks (0-d "
    "included; a sequence's tensors need only share a type), the position omitted (the last) or any of "
    "[-n, n - 1]; then SequenceLength (0 when the only tensor is erased) and SequenceAt at any of [-m, m - 1] "
    "of the m left, positions int64 or int32.",
)
def sequence_erase_at(d: Draw) -> Spec:
    dtype = d.dtype(DTYPES)
    count = d.choice("tensors", (1, 2, 3, 4))
    erase = _position(d, "erase_position", range(-count, count))
    left = count - 1
    at = d.choice("at_position", tuple(range(-left, left))) if left else None
    index_dtype = d.choice("position.dtype", ("int64", "int32"))
    tensors = tuple(d.tensor(f"x{i}", d.shape(f"shape{i}", max_dims=3, max_side=3), dtype) for i in range(count))

    def fn(*xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        seq = list(xs)
        del seq[count - 1 if erase is None else _from_back(erase, count)]
        length = torch.tensor(len(seq), dtype=torch.int64)
        return (length,) if at is None else (length, seq[_from_back(at, left)])

    constants = {}
    where = []
    if erase is not None:
        constants["erase_position"] = np.array(erase, dtype=index_dtype)
        where = ["erase_position"]
    nodes = [
        _node("SequenceConstruct", [f"input_{i}" for i in range(count)], ["seq"]),
        _node("SequenceErase", ["seq", *where], ["erased"]),
        _node("SequenceLength", ["erased"], ["output_0"]),
    ]
    if at is not None:
        constants["at_position"] = np.array(at, dtype=index_dtype)
        nodes.append(_node("SequenceAt", ["erased", "at_position"], ["output_1"]))
    return Spec(OnnxGraph("SequenceErase", fn, nodes, constants=constants), tensors)


@direct(
    op_class=OpClass.EXACT,
    notes="ONNX SplitToSequence along any axis (given either way or left to its default 0): split omitted "
    "(pieces of length 1, squeezed with keepdims 0, kept with keepdims 1 or its default); split a scalar chunk "
    "size of 1 (the default, given), one that divides the axis, one that leaves a smaller last piece, or one "
    "that covers the whole axis in one piece; split a 1-D list of lengths summing to the axis, a zero length "
    "among them where drawn (the input's description: 'All values must be >= 0', though the op's text says "
    "'split must contain only positive numbers'). keepdims (0, 1 or omitted) is drawn with every form: 'If "
    "input split is specified, this attribute is ignored', so a given split never squeezes. Read back "
    "by SequenceLength, SequenceAt 0 and -1, and ConcatFromSequence along the same axis (new_axis 1 where the "
    "axis was squeezed), which must give the input back.",
)
def split_to_sequence(d: Draw) -> Spec:
    dtype = d.dtype(DTYPES)
    rank = d.choice("rank", (1, 2, 3))
    axis_form = d.choice("axis", ("omitted", *range(-rank, rank)))
    axis = 0 if axis_form == "omitted" else int(axis_form)
    form = d.choice("split", ("omitted", "scalar", "list"))
    # With split given keepdims is ignored: a label per form, so covering writes each keepdims with each.
    keepdims = d.choice("keepdims" if form == "omitted" else f"keepdims.with_{form}_split", ("omitted", 0, 1))
    split: np.ndarray | None = None
    if form == "omitted":
        lengths = [1] * d.integer("size", 1, 4)
    elif form == "scalar":
        chunk_form = d.choice("chunk", ("one", "divides", "remainder", "whole"))
        if chunk_form in ("one", "divides"):  # one: split's default given, where keepdims 0 must squeeze nothing
            chunk = 1 if chunk_form == "one" else d.integer("chunk.size", 2, 3)
            lengths = [chunk] * d.integer("pieces", 1, 3)
        elif chunk_form == "remainder":
            chunk = d.integer("chunk.size", 2, 3)
            lengths = [chunk] * d.integer("pieces", 1, 2) + [d.integer("rest", 1, chunk - 1)]
        else:  # one piece: the chunk is as long as the axis, or longer
            size = d.integer("size", 1, 4)
            chunk, lengths = size + d.integer("chunk.over", 0, 2), [size]
        split = np.array(chunk)
    else:
        lengths = [d.integer(f"length{i}", 1, 3) for i in range(d.integer("pieces", 1, 4))]
        if d.boolean("zero_length"):
            lengths.insert(d.integer("zero_at", 0, len(lengths)), 0)
        split = np.array(lengths)
    a = axis % rank
    shape = [d.integer(f"side{i}", 1, 3) for i in range(rank)]
    shape[a] = sum(lengths)
    if split is not None:
        split = split.astype(d.choice("split.dtype", ("int64", "int32")))
    squeezed = form == "omitted" and keepdims == 0
    x = d.tensor("x", tuple(shape), dtype)

    def fn(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        pieces = list(torch.split(x, lengths, dim=a))
        if squeezed:
            pieces = [p.squeeze(a) for p in pieces]
        length = torch.tensor(len(pieces), dtype=torch.int64)
        back = torch.stack(pieces, dim=axis) if squeezed else torch.cat(pieces, dim=axis)
        return length, pieces[0], pieces[-1], back

    attrs: dict[str, object] = {}
    if axis_form != "omitted":
        attrs["axis"] = axis
    if keepdims != "omitted":
        attrs["keepdims"] = keepdims
    constants: dict[str, np.ndarray] = {"first": np.array(0, np.int64), "last": np.array(-1, np.int64)}
    if split is not None:
        constants["split"] = split
    nodes = [
        _node("SplitToSequence", ["input_0", *(["split"] if split is not None else [])], ["seq"], **attrs),
        _node("SequenceLength", ["seq"], ["output_0"]),
        _node("SequenceAt", ["seq", "first"], ["output_1"]),
        _node("SequenceAt", ["seq", "last"], ["output_2"]),
        _node("ConcatFromSequence", ["seq"], ["output_3"], axis=axis, new_axis=int(squeezed)),
    ]
    return Spec(OnnxGraph("SplitToSequence", fn, nodes, constants=constants), (x,))


def _type_proto(dtype: str, sequence: bool) -> object:
    from onnx import helper

    tensor = helper.make_tensor_type_proto(_elem_type(dtype), None)
    return helper.make_sequence_type_proto(tensor) if sequence else tensor


@direct(
    op_class=OpClass.EXACT,
    notes="ONNX Optional wrapping a tensor or a sequence (SequenceConstruct of two tensors), or an empty optional "
    "of that type (the type attribute, no input). OptionalHasElement is true for the wrapped one and false for "
    "the empty one; OptionalGetElement of the wrapped one is its element (a sequence read back by "
    "ConcatFromSequence along axis 0). An empty optional's element is never asked for: the spec calls that an "
    "error with undefined behaviour.",
)
def optional(d: Draw) -> Spec:
    dtype = d.dtype(DTYPES)
    # One choice, not two: covering then writes each element kind both wrapped and empty.
    form = d.choice("optional", ("tensor", "empty_tensor", "sequence", "empty_sequence"))
    element, present = form.removeprefix("empty_"), not form.startswith("empty_")
    trailing = d.shape("trailing", max_dims=2, max_side=3)
    count = 2 if element == "sequence" else 1
    tensors = tuple(d.tensor(f"x{i}", (d.integer(f"length{i}", 1, 3), *trailing), dtype) for i in range(count))

    def fn(*xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        has = torch.tensor(present)
        return (has, torch.cat(xs, dim=0)) if present else (has,)

    nodes = []
    if element == "sequence":
        nodes.append(_node("SequenceConstruct", ["input_0", "input_1"], ["inner"]))
    if present:
        nodes.append(_node("Optional", ["inner" if element == "sequence" else "input_0"], ["opt"]))
    else:
        nodes.append(_node("Optional", [], ["opt"], type=_type_proto(dtype, element == "sequence")))
    nodes.append(_node("OptionalHasElement", ["opt"], ["output_0"]))
    if present:
        if element == "sequence":
            nodes.append(_node("OptionalGetElement", ["opt"], ["got"]))
            nodes.append(_node("ConcatFromSequence", ["got"], ["output_1"], axis=0))
        else:
            nodes.append(_node("OptionalGetElement", ["opt"], ["output_1"]))
    return Spec(OnnxGraph("Optional", fn, nodes), tensors)


@direct(
    op_class=OpClass.EXACT,
    min_opset=18,
    notes="ONNX OptionalHasElement and OptionalGetElement (opset 18) taking a plain tensor or a sequence, not an "
    "optional: HasElement is true ('the input is a tensor or sequence type') and GetElement 'returns the "
    "input'; or OptionalHasElement with its input omitted, which is false ('If the input is not provided').",
)
def optional_plain(d: Draw) -> Spec:
    dtype = d.dtype(DTYPES)
    form = d.choice("input", ("tensor", "sequence", "omitted"))
    trailing = d.shape("trailing", max_dims=2, max_side=3)
    count = 2 if form == "sequence" else 1
    tensors = tuple(d.tensor(f"x{i}", (d.integer(f"length{i}", 1, 3), *trailing), dtype) for i in range(count))

    def fn(*xs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.tensor(form != "omitted"), torch.cat(xs, dim=0)

    if form == "sequence":
        nodes = [
            _node("SequenceConstruct", ["input_0", "input_1"], ["seq"]),
            _node("OptionalHasElement", ["seq"], ["output_0"]),
            _node("OptionalGetElement", ["seq"], ["got"]),
            _node("ConcatFromSequence", ["got"], ["output_1"], axis=0),
        ]
    else:
        nodes = [
            _node("OptionalHasElement", ["input_0" if form == "tensor" else ""], ["output_0"]),
            _node("OptionalGetElement", ["input_0"], ["output_1"]),
        ]
    return Spec(OnnxGraph("OptionalHasElement", fn, nodes), tensors)
