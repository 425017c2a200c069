"""The operator support matrix: ONNX op × opset × dtype × backend, measured from what a run exercised.

Hand-kept support tables drift from the code; this one is read off the
results. Each result counts against the (op, dtype) pairs of the graph it
ran (recorded by the engine), and a failure is blamed where the evidence
points:

- a failure localized to a culprit node counts against that node's op only;
- a failure whose finding is not the backend's fault (the exporter's graph,
  the reference evaluator, the spec, the case) counts against no op of the
  backend's;
- an `unsupported` counts against the op the backend's message names, else
  against every op of the graph;
- in a graph of one kind of node, that node is the culprit;
- any other failure implicates every op of its graph without blaming one:
  the cell is `partial` until localization says which op it was.

A cell is `pass` when every result that exercised it passed, `fail` when
none did, `partial` with its counts in between, `unsupported` when the
backend said so every time, and `untested` where the run had nothing for it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .findings import Finding, Party, result_key
from .graphs import op_name
from .model import OpUse, Outcome, Result

PASS, PARTIAL, FAIL, UNSUPPORTED, UNTESTED = "pass", "partial", "fail", "unsupported", "untested"
STATUSES = (PASS, PARTIAL, FAIL, UNSUPPORTED, UNTESTED)
_PASSING = frozenset({Outcome.PASS, Outcome.XPASS})
_NOT_RUN = frozenset({Outcome.SKIP, Outcome.EXPORT_FAIL})


@dataclass
class Cell:
    passed: int = 0
    failed: int = 0
    implicated: int = 0
    unsupported: int = 0
    findings: set[str] = field(default_factory=set)

    @property
    def status(self) -> str:
        if self.passed and not (self.failed or self.implicated or self.unsupported):
            return PASS
        if self.unsupported and not (self.passed or self.failed or self.implicated):
            return UNSUPPORTED
        if (self.failed or self.implicated) and not self.passed:
            return FAIL if self.failed else PARTIAL
        return PARTIAL if (self.passed or self.failed or self.implicated or self.unsupported) else UNTESTED

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "passed": self.passed,
            "failed": self.failed,
            "implicated": self.implicated,
            "unsupported": self.unsupported,
            "findings": sorted(self.findings),
        }


Row = tuple[str, int, str]  # op, opset, dtype


@dataclass(frozen=True)
class Matrix:
    backends: tuple[str, ...]
    cells: Mapping[Row, Mapping[str, Cell]]
    #: Results counted (they ran a graph whose ops were recorded) and results left out for want of one.
    counted: int = 0
    unrecorded: int = 0

    def cell(self, row: Row, backend: str) -> Cell:
        return self.cells.get(row, {}).get(backend) or Cell()

    def to_dict(self) -> dict[str, Any]:
        return {
            "backends": list(self.backends),
            "counted": self.counted,
            "unrecorded": self.unrecorded,
            "rows": [
                {
                    "op": op,
                    "opset": opset,
                    "dtype": dtype,
                    "cells": {b: self.cell((op, opset, dtype), b).to_dict() for b in self.backends},
                }
                for op, opset, dtype in sorted(self.cells)
            ],
        }


def _named_op(message: str, uses: Sequence[OpUse]) -> list[OpUse]:
    """The graph's ops a backend's message names as a word (`Unimplemented(Det)`, `op='Det'`)."""
    return [u for u in uses if re.search(rf"(?<!\w){re.escape(u.op.rsplit('.', 1)[-1])}(?!\w)", message)]


def _culprit(finding: Finding | None, uses: Sequence[OpUse]) -> list[OpUse]:
    """The recorded uses of a localized finding's culprit node (its op, at its dtype where the node says)."""
    node = dict(finding.node or {}) if finding is not None else {}
    if not node.get("op_type"):
        return []
    op = op_name(str(node.get("domain") or ""), str(node["op_type"]))
    same_op = [u for u in uses if u.op == op]
    dtypes = [str(d) for d in node.get("input_dtypes") or node.get("dtypes") or []]
    same_dtype = [u for u in same_op if dtypes and u.dtype == dtypes[0]]
    return same_dtype or same_op or [OpUse(op, dtypes[0] if dtypes else "")]


def build(
    results: Sequence[Result],
    graph_ops: Mapping[tuple[str, str, int], Sequence[OpUse]],
    findings: Sequence[Finding] = (),
) -> Matrix:
    """The matrix of one run: its results, the ops of the graphs they ran, and its (localized) findings."""
    by_key: dict[str, Finding] = {k: f for f in findings for k in f.members}
    cells: dict[Row, dict[str, Cell]] = defaultdict(dict)
    backends: dict[str, None] = {}
    counted = unrecorded = 0

    def at(use: OpUse, opset: int, backend: str) -> Cell:
        return cells[(use.op, opset, use.dtype)].setdefault(backend, Cell())

    for r in results:
        backends.setdefault(r.backend)
        if r.outcome in _NOT_RUN:
            continue
        uses = graph_ops.get((r.case_id, r.exporter, r.opset))
        if not uses:
            unrecorded += 1
            continue
        counted += 1
        if r.outcome in _PASSING:
            for u in uses:
                at(u, r.opset, r.backend).passed += 1
            continue
        if r.outcome is Outcome.UNSUPPORTED:
            for u in _named_op(r.message, uses) or uses:
                at(u, r.opset, r.backend).unsupported += 1
            continue
        finding = by_key.get(result_key(r))
        if finding is not None and finding.party != Party.BACKEND:
            continue  # the graph or the yardstick is wrong, not this backend's ops
        culprit = _culprit(finding, uses) or (list(uses) if len(uses) == 1 else [])
        for u in culprit:
            cell = at(u, r.opset, r.backend)
            cell.failed += 1
            cell.findings.add(finding.id if finding is not None else "")
        if not culprit:
            for u in uses:
                cell = at(u, r.opset, r.backend)
                cell.implicated += 1
                if finding is not None:
                    cell.findings.add(finding.id)
    for row in cells.values():
        for cell in row.values():
            cell.findings.discard("")
    return Matrix(tuple(sorted(backends)), dict(cells), counted, unrecorded)


def of_run(store: Any, run_id: str) -> Matrix:
    """A recorded run's matrix, with its findings localized where `findings --reduce` or the nightly did."""
    from .findings import localized

    run = store.run(run_id)
    results = store.results(run.id)
    return build(results, store.graph_ops(run.id), localized(results, store.localizations(run.id)))


def short(cell: Cell) -> str:
    """A cell in a few characters, for a terminal or a Markdown table."""
    status = cell.status
    if status == PARTIAL:
        bad = cell.failed + cell.implicated + cell.unsupported
        return f"{cell.passed}/{cell.passed + bad}"
    return {PASS: "pass", FAIL: "FAIL", UNSUPPORTED: "unsup", UNTESTED: "·"}[status]


def only_ops(matrix: Matrix, keep: Callable[[str], bool]) -> Matrix:
    return replace(matrix, cells={row: cells for row, cells in matrix.cells.items() if keep(row[0])})


def _rows(matrix: Matrix) -> list[list[str]]:
    return [
        [op, str(opset), dtype or "?", *(short(matrix.cell((op, opset, dtype), b)) for b in matrix.backends)]
        for op, opset, dtype in sorted(matrix.cells)
    ]


def _header(matrix: Matrix) -> list[str]:
    return ["op", "opset", "dtype", *matrix.backends]


def _legend(matrix: Matrix) -> str:
    return (
        f"{len(matrix.cells)} (op, opset, dtype) rows from {matrix.counted} results"
        + (f"; {matrix.unrecorded} results ran graphs whose ops were not recorded" if matrix.unrecorded else "")
        + ". A cell: pass, FAIL, unsup(ported), passed/exercised, or · (untested)."
    )


def format_text(matrix: Matrix) -> str:
    """Plain columns: the terminal's width is no limit on a table a user pipes into grep or less."""
    rows = [_header(matrix), *_rows(matrix)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join([*lines, "", _legend(matrix)])


def to_markdown(matrix: Matrix) -> str:
    header = _header(matrix)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(f"`{c}`" if i == 0 else c for i, c in enumerate(r)) + " |" for r in _rows(matrix)]
    return "\n".join(["# Operator support matrix", "", _legend(matrix), "", *lines]) + "\n"
