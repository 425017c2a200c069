"""The dim argument of the newer case modules (a `_` module: part of the source hash of each module using it)."""

from __future__ import annotations

from conformance.generate import Draw


def one_dim(d: Draw, rank: int) -> int:
    """One dim of a rank >= 1 shape, spelled negatively or not (`dim.negative`, covered)."""
    if d.boolean("dim.negative"):
        return d.integer("dim", -rank, -1)
    return d.integer("dim", 0, rank - 1)
