"""Spectral cases: torch.fft and torch.stft, which exporters lower to ONNX's DFT and STFT (opset 17 on).

ONNX has no complex tensor a backend must run: exporters carry a complex
value as a real tensor with a trailing axis of 2. So each case takes real
tensors in and hands real tensors out (`view_as_complex` and `view_as_real`
at its edges), as an exported model that holds a transform inside does.
Drawn as covered parameters: the transform length `n` (`n_form`: none, the
axis's own size, shorter than the axis so the input is cropped, longer so it
is zero-padded), the dim (either spelling), `norm` (left out, backward,
forward, ortho: a scaling the exporter writes), and for the complex
transforms whether the input is real or complex. Sizes reach 1025 along the
transformed axis in large draws (a length past every radix-2 fast path).
"""

from __future__ import annotations

from typing import Any

import torch

from conformance.casekit import Fn
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec

from ._dims import one_dim as _dim

#: torch.fft's `norm` values; None is left out of the call (torch's default, "backward").
NORMS = (None, "backward", "forward", "ortho")


def _transformed(d: Draw, *, complex_input: bool) -> tuple[tuple[int, ...], int, dict[str, Any]]:
    """The input's shape (a trailing 2 where it is complex), the transformed dim, and n= and norm= keywords.

    `n_form` is drawn before the shape so a crop always has room: the
    transformed axis is then at least 2 long.
    """
    n_form = d.choice("n_form", ("none", "same", "crop", "pad"))
    shape = d.shape(min_dims=1, max_dims=3, min_side=2 if n_form == "crop" else 1, max_side=6)
    dim = _dim(d, len(shape))
    size = shape[dim]
    kwargs: dict[str, Any] = {"dim": dim}
    if n_form == "same":
        kwargs["n"] = size
    elif n_form == "crop":
        kwargs["n"] = d.integer("n", 1, size - 1)
    elif n_form == "pad":
        kwargs["n"] = size + d.integer("n.extra", 1, 4)
    norm = d.choice("norm", NORMS)
    if norm is not None:
        kwargs["norm"] = norm
    return ((*shape, 2) if complex_input else shape), dim, kwargs


def _as_real(fn: Any, complex_input: bool, **kwargs: Any) -> Fn:
    """`fn` between a real input (complex where asked, from a trailing pair) and a real output."""

    def transform(x: torch.Tensor) -> torch.Tensor:
        z = torch.view_as_complex(x) if complex_input else x
        out = fn(z, **kwargs)
        return torch.view_as_real(out.resolve_conj()) if out.is_complex() else out

    return Fn(transform)


_NOTE = " Real tensors at the edges (a complex value as a trailing pair); n, dim and norm drawn."


@case(
    "signal",
    op_class=OpClass.REDUCTION,
    min_opset=17,
    notes="torch.fft.rfft of a real input: DFT with onesided=1 (the first n//2+1 bins)." + _NOTE,
)
def fft_rfft(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    shape, _, kwargs = _transformed(d, complex_input=False)
    return Spec(_as_real(torch.fft.rfft, False, **kwargs), (d.tensor("x", shape, dtype),))


@case(
    "signal",
    op_class=OpClass.REDUCTION,
    min_opset=17,
    notes="torch.fft.fft of a real or complex input: DFT with onesided=0, every bin." + _NOTE,
)
def fft_fft(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    complex_input = d.boolean("complex_input")
    shape, _, kwargs = _transformed(d, complex_input=complex_input)
    return Spec(_as_real(torch.fft.fft, complex_input, **kwargs), (d.tensor("x", shape, dtype),))


@case(
    "signal",
    op_class=OpClass.REDUCTION,
    min_opset=17,
    notes="torch.fft.ifft of a real or complex input: DFT with inverse=1 and the 1/n scaling norm picks." + _NOTE,
)
def fft_ifft(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    complex_input = d.boolean("complex_input")
    shape, _, kwargs = _transformed(d, complex_input=complex_input)
    return Spec(_as_real(torch.fft.ifft, complex_input, **kwargs), (d.tensor("x", shape, dtype),))


@case(
    "signal",
    op_class=OpClass.REDUCTION,
    min_opset=17,
    notes="torch.fft.irfft of a complex half spectrum to a real signal of length n (default 2*(m-1)): "
    "an inverse DFT whose exporter must rebuild the Hermitian half it was not given." + _NOTE,
)
def fft_irfft(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    shape, dim, kwargs = _transformed(d, complex_input=True)
    if "n" not in kwargs and shape[dim] == 1:
        kwargs["n"] = 1  # torch refuses the default length 2*(1-1) = 0
        d.params["n"] = 1
    return Spec(_as_real(torch.fft.irfft, True, **kwargs), (d.tensor("x", shape, dtype),))


@case(
    "signal",
    op_class=OpClass.REDUCTION,
    min_opset=17,
    notes="torch.fft.fftn and rfftn over a drawn set of dims (either spelling), with s= left out or "
    "cropping or padding each, and norm: one DFT per dim, chained.",
)
def fft_fftn(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    real = d.boolean("rfftn")
    shape = d.shape(min_dims=2, max_dims=3, min_side=2, max_side=5)
    rank = len(shape)
    count = d.integer("dims.count", 1, rank)
    dims = [rank - 1 - i for i in range(count)]  # torch's rfftn halves the last of them
    if d.boolean("dim.negative"):
        dims = [a - rank for a in dims]
    kwargs: dict[str, Any] = {"dim": tuple(reversed(dims))}
    if d.boolean("s_given"):
        kwargs["s"] = tuple(shape[a] + d.integer(f"s.{i}", -1, 2) for i, a in enumerate(kwargs["dim"]))
    norm = d.choice("norm", NORMS)
    if norm is not None:
        kwargs["norm"] = norm
    fn = torch.fft.rfftn if real else torch.fft.fftn
    return Spec(_as_real(fn, False, **kwargs), (d.tensor("x", shape, dtype),))


def _window(kind: str, length: int, dtype: torch.dtype) -> torch.Tensor | None:
    if kind == "none":
        return None
    make = {"hann": torch.hann_window, "hamming": torch.hamming_window, "blackman": torch.blackman_window}[kind]
    return make(length, dtype=dtype)


@case(
    "signal",
    op_class=OpClass.REDUCTION,
    min_opset=17,
    notes="torch.stft (STFT) of one or a batch of signals: n_fft, hop_length, win_length shorter than n_fft "
    "(the window is centred and zero-padded), the window (none: rectangular, hann, hamming, blackman), "
    "center with reflect or constant padding, normalized and onesided all drawn; return_complex as a "
    "trailing pair.",
)
def stft(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    n_fft = d.choice("n_fft", (4, 5, 8, 16))
    hop = d.choice("hop_length", (None, 1, 3, n_fft // 2))
    win_length = d.choice("win_length", (None, n_fft - 1))
    window_kind = d.choice("window", ("none", "hann", "hamming", "blackman"))
    center = d.boolean("center")
    pad_mode = d.choice("pad_mode", ("reflect", "constant")) if center else "reflect"
    normalized = d.boolean("normalized")
    onesided = d.boolean("onesided")
    batch = d.choice("batch", ((), (2,)))
    length = n_fft + d.integer("length.extra", 0, 12)
    window = _window(window_kind, win_length or n_fft, getattr(torch, dtype))

    def transform(x: torch.Tensor) -> torch.Tensor:
        spectrum = torch.stft(
            x,
            n_fft,
            hop_length=hop,
            win_length=win_length,
            window=None if window is None else window.to(x.dtype),
            center=center,
            pad_mode=pad_mode,
            normalized=normalized,
            onesided=onesided,
            return_complex=True,
        )
        return torch.view_as_real(spectrum)

    return Spec(Fn(transform), (d.tensor("x", (*batch, length), dtype),))
