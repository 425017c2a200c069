"""Draft expectation entries from recorded runs, with whose fault each failure is and the evidence.

    python scripts/triage.py [--known FILE] [--out FILE] DB [DB ...] > draft.toml

Reads every run in the given stores and groups failing results by case,
exporter, backend and outcome. Whose fault a group is comes from evidence in
the results, by these rules, in order:

- `export-fail`: the exporter's (its own message is quoted).
- another backend passes the same instance: this backend's (the odd one
  out, even where the oracles diverge: a backend passes there by matching
  either oracle).
- the torch and reference-evaluator oracles diverge and no backend passes:
  the exporter's graph or the reference evaluator is in question.
- no backend passes the same instance: the exported graph's (or the case's:
  a reviewer checks).

The draft is reviewed by hand before it replaces entries in
conformance/data/expectations.toml; notes from the review go in `reason`.
Results already covered by the entries of `--known` (hand-written ones that
span many cases, say) are left out of the draft.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

from conformance.expectations import ExpectationError, ExpectationSet, actual_outcome, dumps, load, write
from conformance.model import FAILING, Outcome
from conformance.store import Store, StoreError

#: Causes established by hand: (backend glob, text in the message, explanation).
KNOWN_CAUSES = (
    (
        "onnx2torch",
        "ml_dtypes.bfloat16",
        "onnx2torch converts initializers with torch.from_numpy, which has no bfloat16 (ml_dtypes) support",
    ),
    ("openvino", "SIGFPE", "OpenVINO's CPU plugin dies of a floating-point exception (an integer division by zero)"),
    (
        "onnx2torch",
        "returned 2 outputs",
        "onnx2torch maps TopK to torch.topk and returns both outputs where one is used",
    ),
)


def first_line(text: str, limit: int = 150) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _rows(dbs: list[Path], known: ExpectationSet) -> list[tuple[str, ...]]:
    """Every result of every run in the stores, as the backend really did it, less what `known` covers."""
    rows = []
    for path in dbs:
        with Store(path) as store:
            for run in store.runs():
                for r in store.results(run.id):
                    # What the backend did, before any expectation of the run turned it into xfail or xpass.
                    actual = actual_outcome(r)
                    if any(actual in e.outcomes for e in known.matching(r)):
                        continue
                    path_ = f"{r.category}/{r.case}"
                    rows.append((r.case_id, path_, r.backend, r.exporter, str(actual), str(r.oracle), r.message))
    return rows


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="triage.py", description="Draft expectation entries, with whose fault each failure is, from stores."
    )
    parser.add_argument("dbs", metavar="DB", nargs="+", type=Path, help="results stores to read (never created)")
    parser.add_argument("--known", type=Path, help="leave out results that this expectations file already covers")
    parser.add_argument("--out", type=Path, help="write the draft here (checked, then renamed) instead of stdout")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        known = ExpectationSet.of(load(args.known) if args.known else [])
        rows = _rows(args.dbs, known)
    except (StoreError, ExpectationError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    failing = {str(o) for o in FAILING - {Outcome.XPASS}}

    passed_on: dict[tuple[str, str], set[str]] = defaultdict(set)
    for case_id, _, backend, exporter, outcome, _, _ in rows:
        if outcome == "pass":
            passed_on[(case_id, exporter)].add(backend)
    groups: dict[tuple[str, str, str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for case_id, _path, backend, exporter, outcome, oracle, message in rows:
        if outcome in failing:
            groups[(case_id, exporter, backend, outcome)].append((case_id, oracle, message))

    # An export failure is the same for every backend: one entry with backend = "*".
    merged: dict[tuple[str, str, str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for (case_id, exporter, backend, outcome), items in groups.items():
        key = (case_id, exporter, "*" if outcome == "export-fail" else backend, outcome)
        merged[key].extend(items)

    entries = []
    for (case_key, exporter, backend, outcome), items in sorted(merged.items()):
        case_id, oracle, message = items[0]
        others = sorted(passed_on[(case_id, exporter)] - {backend})
        known = next((why for b, text, why in KNOWN_CAUSES if b == backend and text in message), "")
        if known:
            fault = f"{backend}: {known}"
        elif outcome == "export-fail":
            fault = f"exporter ({exporter}) cannot export this instance"
        elif others:
            # The odd one out: a backend that cannot load or run what others run, or matches neither oracle
            # where others match one, is at fault even where the oracles diverge.
            fault = f"{backend} (the same instance passes on {', '.join(others)})"
            if oracle == "diverge":
                fault += "; torch and the reference evaluator also diverge on it"
        elif oracle == "diverge":
            fault = "the torch and ONNX-reference oracles diverge: the exported graph or the reference evaluator"
        else:
            fault = "no backend passes this instance: the exported graph, a spec gap or the case"
        entries.append(
            {
                "backend": backend,
                "case": case_key,
                "exporter": exporter,
                "outcome": outcome,
                "reason": f"{fault}: {first_line(message)}",
            }
        )
    text = dumps(entries)
    if args.out:
        write(args.out, text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
