"""Detection operators torch's exporters never write, as single ONNX nodes.

RoiAlign, MaxRoiPool and NonMaxSuppression come only from torchvision's own
ONNX symbolics (torchvision is not installed here, and those write RoiAlign in
avg mode only and NonMaxSuppression without a score threshold), and neither of
torch's exporters lowers max_unpool to MaxUnpool. Without these cases a
backend's kernels for them meet only ONNX's fixed node tests. Each case writes
its node itself (`direct=True`) and draws every attribute and input form; its
forward pass is the node's meaning by the spec, written in torch. Where the
spec text is silent (bilinear sampling at the map's border, RoIPool's bins,
the order of tied scores), the oracle follows the definition the
implementations share (Detectron's RoIAlign, Fast R-CNN's RoIPool,
TensorFlow's NMS), and the case's notes say so.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from cases._draws import direct
from conformance.casekit import OnnxNode
from conformance.generate import Draw
from conformance.model import OpClass, Spec, Unspecified

#: The dtypes RoiAlign, MaxRoiPool and MaxUnpool take at every opset of a run (bfloat16 only from opset 22).
_FLOATS = ("float32", "float16", "float64")


def _bilinear(img: torch.Tensor, y: float, x: float) -> torch.Tensor:
    """RoIAlign's sample of `img` [C, H, W] at (y, x): 0 beyond one pixel outside the map, the border pixel in
    that margin, else the bilinear mix of the four neighbours (Detectron's definition, which ONNX's names)."""
    h, w = img.shape[1], img.shape[2]
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return torch.zeros(img.shape[0], dtype=img.dtype)
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= h - 1:
        y_low = y_high = h - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= w - 1:
        x_low = x_high = w - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1.0 - ly, 1.0 - lx
    return (
        hy * hx * img[:, y_low, x_low]
        + hy * lx * img[:, y_low, x_high]
        + ly * hx * img[:, y_high, x_low]
        + ly * lx * img[:, y_high, x_high]
    )


#: Where a RoI lies, in feature-map units, from four uniform draws u in [0, 1) and the map's (H, W).
_ROI_KINDS = ("inside", "partly-outside", "wholly-outside", "degenerate")


def _roi_box(kind: str, u: np.ndarray, h: int, w: int) -> list[float]:
    """[x1, y1, x2, y2] on a feature map of h x w, x1 <= x2 and y1 <= y2."""

    def span(a: float, b: float, side: int) -> tuple[float, float]:
        if kind == "inside":
            lo = a * side
            return lo, lo + b * (side - lo)
        if kind == "partly-outside":  # from up to two pixels before the map to past its middle, or beyond its end
            return -2.0 * a, side / 2 + b * (side / 2 + 2.0)
        if kind == "wholly-outside":  # every sample more than a pixel off the map: 0 by the border rule
            lo = side + 1.5 + a if b < 0.5 else -3.5 - a
            return lo, lo + b
        raise AssertionError(kind)

    if kind == "degenerate":  # a line (x1 == x2) across the map, or a point when y1 == y2 as well
        x1 = u[0] * w
        y1 = u[2] * h
        y2 = y1 if u[1] < 0.5 else y1 + u[3] * (h - y1)
        return [x1, y1, x1, y2]
    x1, x2 = span(u[0], u[1], w)
    y1, y2 = span(u[2], u[3], h)
    return [x1, y1, x2, y2]


def _roi_layout(
    d: Draw, where: str, kinds: tuple[str, ...], side: int
) -> tuple[tuple[int, int, int, int], np.ndarray, list[str]]:
    """The map's (n, c, h, w) with sides up to `side`, 1 to 4 RoIs' uniform draws, and each RoI's kind: `where`,
    or one of `kinds` per RoI where it is "mixed"."""
    n, c = d.integer("n", 1, 3), d.integer("c", 1, 3)
    h, w = d.integer("h", 1, side), d.integer("w", 1, side)
    num_rois = d.integer("num_rois", 1, 4)
    u = d.tensor("roi_uniform", (num_rois, 4), "float64", low=0.0, high=1.0, special=False)
    picks = d.tensor("roi_kinds", (num_rois,), "int64", low=0, high=len(kinds) - 1, special=False)
    return (n, c, h, w), u, [kinds[int(k)] if where == "mixed" else where for k in picks]


@direct(
    op_class=OpClass.REDUCTION,
    min_opset=16,
    unspecified=(Unspecified.SIGNED_ZERO,),
    notes="ONNX RoiAlign: avg and max modes, half_pixel and output_half_pixel (opset 16), output sizes, sampling "
    "ratio adaptive (0: ceil(roi size / output size)) and fixed, spatial_scale, RoIs inside, straddling, wholly "
    "outside the map and degenerate (x1 == x2), batch indices over several images. Each sample is the bilinear "
    "interpolation of the map (the spec: 'the value of the sampled locations are computed directly through "
    "bilinear interpolation'), then averaged or maxed over the bin; ONNX's reference and onnxruntime max the four "
    "weighted corners instead (onnx#4764, onnxruntime#6146). The border rule (0 past one pixel outside, the edge "
    "pixel within it), the 1x1 floor of an output_half_pixel RoI and 0 for a bin with no samples are Detectron's "
    "and torchvision's (aligned=False), which the spec leaves unwritten.",
)
def roi_align(d: Draw) -> Spec:
    dtype = d.dtype(_FLOATS)
    mode = d.choice("mode", ("avg", "max"))
    transform = d.choice("coordinate_transformation_mode", ("half_pixel", "output_half_pixel"))
    out_h = d.choice("output_height", (1, 2, 3))
    out_w = d.choice("output_width", (1, 2, 3))
    sampling_ratio = d.choice("sampling_ratio", (0, 1, 2))
    scale = d.choice("spatial_scale", (1.0, 0.5, 0.25, 0.3))
    explicit = d.boolean("defaults.explicit")
    where = d.choice("rois", (*_ROI_KINDS, "mixed"))
    (n, c, h, w), u, kinds = _roi_layout(d, where, _ROI_KINDS, side=5)
    num_rois = len(kinds)
    feature = np.array([_roi_box(k, u[i], h, w) for i, k in enumerate(kinds)], dtype=np.float64)
    scale32 = float(np.float32(scale))
    rois = (feature / scale32).astype(dtype)  # RoIs are in image units: the map is the image times spatial_scale
    batch = d.tensor("batch_indices", (num_rois,), "int64", low=0, high=n - 1, special=False)
    x = d.tensor("x", (n, c, h, w), dtype)
    # onnxruntime and ONNX's reference give a sample off the map weight 0 on pixel (0, 0), so a NaN or an infinity
    # there makes it NaN; Detectron's own kernel returns 0 without reading a pixel. The spec says neither: that
    # pixel stays finite, and non-finite values elsewhere still meet the bilinear sums.
    corner = x[:, :, 0, 0]
    x[:, :, 0, 0] = np.where(np.isfinite(corner), corner, np.asarray(1.0, dtype=dtype))
    half_pixel = transform == "half_pixel"

    def fn(xt: torch.Tensor, rt: torch.Tensor, bt: torch.Tensor) -> torch.Tensor:
        data = xt.double()
        out = torch.zeros((rt.shape[0], data.shape[1], out_h, out_w), dtype=torch.float64)
        shift = 0.5 if half_pixel else 0.0
        for r, (coords, image) in enumerate(zip(rt.double().tolist(), bt.tolist(), strict=True)):
            x1, y1, x2, y2 = (v * scale32 - shift for v in coords)
            roi_w, roi_h = x2 - x1, y2 - y1
            if not half_pixel:  # the legacy (aligned=False) RoI is at least one pixel each way
                roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
            bin_h, bin_w = roi_h / out_h, roi_w / out_w
            grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_h / out_h)
            grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_w / out_w)
            img = data[int(image)]
            for ph in range(out_h):
                for pw in range(out_w):
                    samples = [
                        _bilinear(
                            img,
                            y1 + ph * bin_h + (iy + 0.5) * bin_h / grid_h,
                            x1 + pw * bin_w + (ix + 0.5) * bin_w / grid_w,
                        )
                        for iy in range(grid_h)
                        for ix in range(grid_w)
                    ]
                    if not samples:  # a bin with no samples (a zero-size half_pixel RoI, adaptive grid) is 0
                        continue
                    stack = torch.stack(samples)
                    out[r, :, ph, pw] = stack.amax(0) if mode == "max" else stack.sum(0) / len(samples)
        return out.to(xt.dtype)

    attrs: dict[str, object] = {}
    for key, value, default in (
        ("mode", mode, "avg"),
        ("coordinate_transformation_mode", transform, "half_pixel"),
        ("output_height", out_h, 1),
        ("output_width", out_w, 1),
        ("sampling_ratio", sampling_ratio, 0),
        ("spatial_scale", scale, 1.0),
    ):
        if explicit or value != default:
            attrs[key] = value
    return Spec(OnnxNode("RoiAlign", fn, attributes=attrs), (x, rois, batch))


def _round_away(v: float) -> int:
    """C's round (half away from zero), as Fast R-CNN's RoIPool and every backend round RoI corners."""
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


#: RoI shapes for MaxRoiPool, in feature-map units.
_POOL_KINDS = ("inside", "small", "inverted", "partly-outside", "wholly-outside")


def _pool_box(kind: str, u: np.ndarray, h: int, w: int) -> list[float]:
    """[x1, y1, x2, y2] on a feature map of h x w."""

    def span(a: float, b: float, side: int) -> tuple[float, float]:
        if kind == "inside":
            lo = a * (side - 1)
            return lo, lo + b * (side - 1 - lo)
        if kind == "small":  # under a pixel: one or two rows after rounding, fewer than most pooled shapes
            lo = a * (side - 1)
            return lo, lo + 0.9 * b
        if kind == "inverted":  # x2 < x1: the RoI is floored to 1x1 at its start
            lo = a * (side - 1)
            return lo, lo - 1.0 - 2 * b
        if kind == "partly-outside":  # bins past the map are clipped to nothing: 0
            return -3.0 * a - 0.6, side - 1 + 0.6 + 3 * b
        lo = side + 0.6 + 2 * a  # wholly outside: every bin is empty
        return lo, lo + 3 * b

    x1, x2 = span(u[0], u[1], w)
    y1, y2 = span(u[2], u[3], h)
    return [x1, y1, x2, y2]


@direct(
    op_class=OpClass.EXACT,
    unspecified=(Unspecified.SIGNED_ZERO,),
    notes="ONNX MaxRoiPool as Fast R-CNN's RoIPool (the spec gives no formula): corners scaled and rounded half "
    "away from zero, the RoI floored to 1x1, bin ph spanning [floor(ph*h/PH), ceil((ph+1)*h/PH)) from the RoI's "
    "start, clipped to the map; an empty bin is 0. RoIs inside, smaller than a pixel, inverted, straddling and "
    "wholly outside the map, batch ids over several images.",
)
def max_roi_pool(d: Draw) -> Spec:
    dtype = d.dtype(_FLOATS)
    pooled = (d.choice("pooled_height", (1, 2, 3)), d.choice("pooled_width", (1, 2, 3)))
    scale = d.choice("spatial_scale", (1.0, 0.5, 0.25))
    explicit = d.boolean("spatial_scale.explicit")
    where = d.choice("rois", (*_POOL_KINDS, "mixed"))
    (n, c, h, w), u, kinds = _roi_layout(d, where, _POOL_KINDS, side=6)
    num_rois = len(kinds)
    batch = d.tensor("batch_ids", (num_rois,), "int64", low=0, high=n - 1, special=False)
    boxes = np.array([_pool_box(k, u[i], h, w) for i, k in enumerate(kinds)], dtype=np.float64) / scale
    rois = np.concatenate([batch[:, None].astype(np.float64), boxes], axis=1).astype(dtype)
    x = d.tensor("x", (n, c, h, w), dtype)

    def fn(xt: torch.Tensor, rt: torch.Tensor) -> torch.Tensor:
        ph_n, pw_n = pooled
        height, width = xt.shape[2], xt.shape[3]
        out = torch.zeros((rt.shape[0], xt.shape[1], ph_n, pw_n), dtype=xt.dtype)
        for r, row in enumerate(rt.double().tolist()):
            image = int(row[0])
            x1, y1, x2, y2 = (_round_away(v * scale) for v in row[1:])
            roi_h, roi_w = max(y2 - y1 + 1, 1), max(x2 - x1 + 1, 1)
            for ph in range(ph_n):
                top = min(max((ph * roi_h) // ph_n + y1, 0), height)
                bottom = min(max(-((-(ph + 1) * roi_h) // ph_n) + y1, 0), height)
                for pw in range(pw_n):
                    left = min(max((pw * roi_w) // pw_n + x1, 0), width)
                    right = min(max(-((-(pw + 1) * roi_w) // pw_n) + x1, 0), width)
                    if bottom > top and right > left:
                        out[r, :, ph, pw] = xt[image, :, top:bottom, left:right].amax((1, 2))
        return out

    attrs: dict[str, object] = {"pooled_shape": list(pooled)}
    if explicit or scale != 1.0:
        attrs["spatial_scale"] = scale
    return Spec(OnnxNode("MaxRoiPool", fn, attributes=attrs), (x, rois))


def _corners(box: list[float], center: bool) -> tuple[float, float, float, float]:
    """(ymin, xmin, ymax, xmax) of a box: [y1, x1, y2, x2] any diagonal pair, or [xc, yc, w, h]."""
    if center:
        xc, yc, bw, bh = box
        return yc - bh / 2, xc - bw / 2, yc + bh / 2, xc + bw / 2
    y1, x1, y2, x2 = box
    return min(y1, y2), min(x1, x2), max(y1, y2), max(x1, x2)


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if inter > 0 else 0.0


@direct(
    op_class=OpClass.EXACT,
    notes="ONNX NonMaxSuppression: center_point_box 0 (corners [y1, x1, y2, x2], any diagonal pair, either order) "
    "and 1 ([xc, yc, w, h]); max_output_boxes_per_class absent (0: nothing), 0, small, large; iou_threshold and "
    "score_threshold absent or given, 0-d (the spec's scalar) or [1] (ONNX's node tests); a pair of boxes whose IoU "
    "is exactly the threshold (kept: only 'strictly greater' suppresses); ties in scores; a score threshold equal "
    "to a score (kept: the spec removes scores 'less than' it; onnxruntime and ONNX's reference keep only scores "
    "above it). Output per batch, per class, in decreasing score, "
    "ties by lower box index (the spec leaves tie order unwritten; onnxruntime, ONNX's reference and TensorFlow "
    "agree on it). Integer corners keep every IoU exact.",
)
def non_max_suppression(d: Draw) -> Spec:
    center = d.choice("center_point_box", (0, 1))
    explicit = d.boolean("center_point_box.explicit")
    order = d.choice("corner_order", ("min-first", "max-first", "mixed"))
    max_out = d.choice("max_output_boxes_per_class", ("absent", 0, 1, 3, 1000))
    iou_form = d.choice("iou_threshold", ("absent", 0.0, 0.25, 0.5, 1.0))
    score_form = d.choice("score_threshold", ("absent", "given", "at-a-score"))
    at_threshold = d.boolean("iou_at_threshold")
    scores_form = d.choice("scores", ("distinct", "ties"))
    scalar = d.choice("scalar_shape", ("0-d", "[1]"))
    batches, classes = d.integer("num_batches", 1, 2), d.integer("num_classes", 1, 3)
    count = d.integer("num_boxes", 2 if at_threshold else 1, 6)
    raw = d.tensor("box_coords", (batches, count, 4), "int64", low=0, high=6, special=False).astype(np.float64)
    lo = np.minimum(raw[..., :2], raw[..., 2:])
    hi = np.maximum(raw[..., :2], raw[..., 2:])
    corners = np.concatenate([lo, hi], axis=-1)  # (ymin, xmin, ymax, xmax)
    iou_value = 0.0 if iou_form == "absent" else float(iou_form)
    if at_threshold:  # box 1 is cut from box 0 so that their IoU is the threshold exactly
        for b in range(batches):
            y, x0 = corners[b, 0, 0], corners[b, 0, 1]
            bh, bw = corners[b, 0, 2] - y + 1, corners[b, 0, 3] - x0 + 1
            corners[b, 0] = (y, x0, y + bh, x0 + bw)
            corners[b, 1] = {
                0.0: (y, x0 + bw, y + bh, x0 + 2 * bw),  # touching: no overlap at all
                0.25: (y, x0, y + bh / 2, x0 + bw / 2),
                0.5: (y, x0, y + bh, x0 + bw / 2),
                1.0: (y, x0, y + bh, x0 + bw),
            }[iou_value]
    if center:
        ymin, xmin, ymax, xmax = np.moveaxis(corners, -1, 0)
        boxes = np.stack([(xmin + xmax) / 2, (ymin + ymax) / 2, xmax - xmin, ymax - ymin], axis=-1)
    elif order == "min-first":
        boxes = corners
    elif order == "max-first":
        boxes = corners[..., [2, 3, 0, 1]]
    else:  # each axis in the order drawn: either diagonal pair, either corner first
        swap_y, swap_x = raw[..., 0] > raw[..., 2], raw[..., 1] > raw[..., 3]
        ymin, xmin, ymax, xmax = np.moveaxis(corners, -1, 0)
        boxes = np.stack(
            [np.where(swap_y, ymax, ymin), np.where(swap_x, xmax, xmin), np.where(swap_y, ymin, ymax),
             np.where(swap_x, xmin, xmax)], axis=-1)  # fmt: skip
    if scores_form == "ties":
        scores = d.tensor("score_steps", (batches, classes, count), "int64", low=1, high=3, special=False) / 4
    else:
        scores = d.tensor("score_values", (batches, classes, count), "float32", low=0.0, high=1.0, special=False)
    scores = np.asarray(scores, dtype=np.float32)
    if at_threshold:
        scores[:, :, 0] = 1.0  # box 0 is chosen first, then box 1 meets it
    # At a score: the best of batch 0, class 0 (box 0 aside when it was lifted to 1.0), so that box is selected.
    top = float(scores[0, 0, 1:].max() if at_threshold else scores[0, 0].max())
    score_value = {"absent": None, "given": 0.4, "at-a-score": top}[score_form]
    max_value = 0 if max_out == "absent" else int(max_out)

    def scalar_of(value: float | int, dt: str) -> np.ndarray:
        return np.array(value if scalar == "0-d" else [value], dtype=dt)

    optional = [
        None if max_out == "absent" else scalar_of(max_value, "int64"),
        None if iou_form == "absent" else scalar_of(iou_value, "float32"),
        None if score_value is None else scalar_of(score_value, "float32"),
    ]
    while optional and optional[-1] is None:
        optional.pop()
    threshold32 = None if score_value is None else float(np.float32(score_value))
    iou32 = float(np.float32(iou_value))

    def fn(bt: torch.Tensor, st: torch.Tensor) -> torch.Tensor:
        selected: list[list[int]] = []
        for b in range(bt.shape[0]):
            box = [_corners(v, bool(center)) for v in bt[b].double().tolist()]
            for c in range(st.shape[1]):
                s = st[b, c].double().tolist()
                candidates = [i for i in range(len(s)) if threshold32 is None or s[i] >= threshold32]
                kept: list[int] = []
                for i in sorted(candidates, key=lambda i: (-s[i], i)):
                    if len(kept) >= max_value:
                        break
                    if all(_iou(box[i], box[j]) <= iou32 for j in kept):
                        kept.append(i)
                selected.extend([b, c, i] for i in kept)
        return torch.tensor(selected, dtype=torch.int64).reshape(-1, 3)

    attrs = {"center_point_box": center} if explicit or center else {}
    wiring: list[int | np.ndarray | None] = [0, 1, *optional]
    node = OnnxNode("NonMaxSuppression", fn, attributes=attrs, inputs=wiring)
    return Spec(node, (boxes.astype(np.float32), scores))


def _pool_indices(source: np.ndarray, kernel: list[int], strides: list[int], pads: list[int], pooled: list[int]):
    """MaxPool's Indices output over `source` [N, C, *S]: the flat index over the whole tensor (batch and channel
    included, padding not) of each window's first maximum."""
    n, c, *spatial = source.shape
    rank = len(spatial)
    out = np.zeros((n, c, *pooled), dtype=np.int64)
    for pos in np.ndindex(*pooled):
        ranges = []
        for i in range(rank):
            start = pos[i] * strides[i] - pads[i]
            ranges.append(range(max(start, 0), min(start + kernel[i], spatial[i])))
        cells = [tuple(p) for p in np.array(np.meshgrid(*ranges, indexing="ij")).reshape(rank, -1).T]
        for b in range(n):
            for ch in range(c):
                values = np.array([source[(b, ch, *cell)] for cell in cells])
                best = cells[int(np.argmax(values))]
                out[(b, ch, *pos)] = (b * c + ch) * int(np.prod(spatial)) + int(np.ravel_multi_index(best, spatial))
    return out


@direct(
    op_class=OpClass.EXACT,
    notes="ONNX MaxUnpool, 1-d to 3-d: kernel, strides and pads drawn; indices as MaxPool writes them (flat over "
    "N x C x spatial, padding not counted), from overlapping windows (a repeated index then carries one value) or "
    "non-overlapping ones with free values; output_shape absent (the shape (in - 1) * stride - pads + kernel), "
    "equal to that, or the larger MaxPool input it disambiguates, where the indices address that shape.",
)
def max_unpool(d: Draw) -> Spec:
    dtype = d.dtype(_FLOATS)
    rank = d.choice("spatial_rank", (2, 1, 3))
    form = d.choice("indices", ("maxpool", "distinct"))
    output_form = d.choice("output_shape", ("absent", "inferred", "larger"))
    explicit = d.boolean("defaults.explicit")
    n, c = d.integer("n", 1, 2), d.integer("c", 1, 2)
    kernel = [d.integer(f"kernel{i}", 1, 3) for i in range(rank)]
    strides = [d.integer(f"stride{i}", 1, 3) for i in range(rank)]
    if form == "distinct":  # windows that do not overlap never pick one cell twice: any values may be unpooled
        strides = [max(s, k) for s, k in zip(strides, kernel, strict=True)]
    if output_form == "larger":
        strides[0] = max(strides[0], 2)
    pooled = [d.integer(f"pooled{i}", 1, 3) for i in range(rank)]
    begins = [d.integer(f"pad_begin{i}", 0, kernel[i] - 1) for i in range(rank)]
    ends = [d.integer(f"pad_end{i}", 0, kernel[i] - 1) for i in range(rank)]
    inferred = []
    for i in range(rank):
        while (pooled[i] - 1) * strides[i] + kernel[i] - begins[i] - ends[i] < 1:  # an empty input: less padding
            if begins[i] >= ends[i]:
                begins[i] -= 1
            else:
                ends[i] -= 1
        inferred.append((pooled[i] - 1) * strides[i] + kernel[i] - begins[i] - ends[i])
    # The MaxPool input the indices address: the inferred shape, or up to stride - 1 more (the same pooled size).
    extra = [d.integer(f"extra{i}", 1 if i == 0 else 0, strides[i] - 1) if output_form == "larger" else 0
             for i in range(rank)]  # fmt: skip
    spatial = [a + b for a, b in zip(inferred, extra, strict=True)]
    pads = begins + ends
    source = d.tensor("pool_input", (n, c, *spatial), dtype, special=None if form == "maxpool" else False)
    indices = _pool_indices(source, kernel, strides, begins, pooled)
    if form == "maxpool":
        x = np.take(source.reshape(-1), indices)
    else:
        x = d.tensor("x", (n, c, *pooled), dtype)
    out_shape = [n, c, *(spatial if output_form != "absent" else inferred)]

    def fn(xt: torch.Tensor, it: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(math.prod(out_shape), dtype=xt.dtype)
        out[it.reshape(-1)] = xt.reshape(-1)
        return out.reshape(out_shape)

    attrs: dict[str, object] = {"kernel_shape": kernel}
    if explicit or any(s != 1 for s in strides):
        attrs["strides"] = strides
    if explicit or any(pads):
        attrs["pads"] = pads
    wiring: list[int | np.ndarray | None] = [0, 1]
    if output_form != "absent":
        wiring.append(np.array(out_shape, dtype=np.int64))
    return Spec(OnnxNode("MaxUnpool", fn, attributes=attrs, inputs=wiring), (x, indices))
