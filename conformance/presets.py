"""Presets: named run matrices, so a PR check, the nightly and a deep hunt are one word each.

A preset is data (the WebGPU CTS's parameter grids are the model): which
exporters, which opsets, which value modes, how many random draws per case,
how far covering goes, and whether ONNX's node tests run too. Options given
on the command line, or set in a project's config file (`cli/config.py`),
override the preset's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    exporters: tuple[str, ...]
    opsets: tuple[int, ...]
    values: tuple[str, ...]
    max_examples: int
    cover: str
    #: Run the opt-in case packs (ONNX's node tests) as well.
    opt_in: bool

    def describe(self) -> str:
        return (
            f"{self.name}: exporters {', '.join(self.exporters)}; opsets {', '.join(map(str, self.opsets))}; "
            f"values {', '.join(self.values)}; {self.max_examples} random draws per case, covering {self.cover}"
            + ("; ONNX's node tests" if self.opt_in else "")
        )

    def options(self) -> dict[str, Any]:
        """The `RunOptions` fields this preset sets."""
        return {
            "exporters": self.exporters,
            "opset": self.opsets[0],
            "opsets": self.opsets,
            "values": self.values,
            "max_examples": self.max_examples,
            "cover": self.cover,
            "opt_in": self.opt_in,
            "preset": self.name,
        }


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "quick",
            "A PR check in minutes: one exporter, one opset, plain values, two draws per case.",
            exporters=("dynamo",),
            opsets=(18,),
            values=("plain",),
            max_examples=2,
            cover="none",
            opt_in=False,
        ),
        Preset(
            "nightly",
            "The whole matrix: both exporters; opset 17 (attribute forms of Reduce*, Pad, Split before 18), 21 and "
            "23 (where torch's dynamo exporter writes Attention and RMSNormalization instead of their composition); "
            "plain, special and wide values; every value of every parameter; ONNX's node tests.",
            exporters=("dynamo", "torchscript"),
            opsets=(17, 21, 23),
            values=("plain", "special", "wide"),
            max_examples=2,
            cover="each",
            opt_in=True,
        ),
        Preset(
            "thorough",
            "The nightly's matrix at five opsets, with more draws and every pair of parameter values.",
            exporters=("dynamo", "torchscript"),
            opsets=(13, 17, 18, 21, 23),
            values=("plain", "special", "wide"),
            max_examples=5,
            cover="pairs",
            opt_in=True,
        ),
    )
}
