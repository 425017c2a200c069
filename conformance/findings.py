"""Findings: failing results clustered by root cause, each with the party at fault and the evidence.

A failure is worth little as a row. The same backend bug shows up as many
rows (every exporter, opset, value mode and draw that reaches it), and a
different seed draws new rows of the same bug. A finding is the one cause
behind them: its signature (who, which op, which dtype, which outcome, and
the message with its numbers and names taken out) has a stable id, so the
same cause has the same id in every run.

Attribution works from what every backend did on the same exported graph,
not from two oracles alone (DESIGN: attribution by consensus):

- an export that fails is the exporter's;
- where torch and the ONNX reference evaluator diverge, the other backends
  decide: when most of them side with torch, the reference evaluator is wrong
  (and a backend that sided with it too); when they side with the reference,
  the exported graph is (the exporter, or the spec where the ONNX text allows
  both);
- where the oracles agree and one backend differs from them while its peers
  pass, the backend is at fault; where nearly every backend differs the same
  way, the question is the spec (special values) or our case (its truth or
  tolerance), not one backend.

This stage reads results from the store and writes nothing: it can run on
any recorded run, and `localize` later narrows a finding's op to its node.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .model import (
    DIRECT_EXPORTER,
    FAILING,
    OracleAgreement,
    Outcome,
    Result,
    Values,
    normalize_message,
    result_dtype,
)

#: Backends that are the ONNX reference evaluator or a variant of another backend: they do not vote twice.
REFERENCE = "reference"
_VARIANT_OF = {"onnxruntime-noopt": "onnxruntime"}
#: Share of the other backends that must fail the same way before the case or spec is questioned.
CONSENSUS = 0.75


class Party:
    BACKEND = "backend"
    EXPORTER = "exporter"
    REFERENCE = "reference"
    SPEC = "spec"
    CASE = "case"


@dataclass(frozen=True)
class Attribution:
    party: str
    evidence: str


@dataclass(frozen=True)
class Finding:
    """One root cause behind one or more failing results."""

    id: str
    #: The backend at fault, or "*" when the fault is the graph's (exporter, spec, case) on every backend.
    backend: str
    #: The exporter that made the graphs ("*" when the cause shows with both).
    exporter: str
    #: The op in question: the culprit node's op type once localized, until then the case's path.
    op: str
    dtype: str
    outcome: str
    message: str
    party: str
    evidence: str
    #: Instance ids (case ids with their hash) the finding covers, and the results it explains.
    instances: tuple[str, ...]
    results: int
    cases: tuple[str, ...]
    #: Results no expectation waived: a finding whose results are all xfail is known and reviewed.
    unexpected: int = 0
    #: The culprit node, once localized (name, op type, attributes, input shapes and dtypes).
    node: Mapping[str, Any] | None = None
    status: str = "new"
    first_seen: str = ""
    last_seen: str = ""
    repro: str = ""
    #: One result of the finding, to localize and reproduce it from.
    example: Mapping[str, Any] = field(default_factory=dict)
    #: The results it explains, by `result_key` (not in `to_dict`: reports map each failure to its finding).
    members: tuple[str, ...] = ()

    @property
    def signature(self) -> dict[str, str]:
        return signature_of(self.backend, self.exporter, self.op, self.dtype, self.outcome, self.message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "backend": self.backend,
            "exporter": self.exporter,
            "op": self.op,
            "node": dict(self.node) if self.node else None,
            "dtype": self.dtype,
            "outcome": self.outcome,
            "message": self.message,
            "party": self.party,
            "evidence": self.evidence,
            "status": self.status,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "instances": len(self.instances),
            "results": self.results,
            "unexpected": self.unexpected,
            "cases": list(self.cases),
            "repro": self.repro,
            "example": dict(self.example),
        }


def signature_of(backend: str, exporter: str, op: str, dtype: str, outcome: str, message: str) -> dict[str, str]:
    return {"backend": backend, "exporter": exporter, "op": op, "dtype": dtype, "outcome": outcome, "message": message}


def finding_id(signature: Mapping[str, str]) -> str:
    """Derived from the signature alone: the same cause has the same id in every run and on every machine."""
    return "F" + hashlib.sha256(json.dumps(dict(signature), sort_keys=True).encode()).hexdigest()[:10]


def _side(result: Result) -> str:
    """Which oracle a backend's outputs sided with where torch and the reference evaluator diverge."""
    text = result.message
    if "matches the reference evaluator" in text:
        return "reference"
    if "matches torch, not the reference evaluator" in text:
        return "torch"
    return "neither"


def _voter(backend: str) -> str:
    return _VARIANT_OF.get(backend, backend)


def _sides(results: Iterable[Result]) -> Counter[str]:
    """How the backends (one vote per backend family, the reference evaluator not voting) sided."""
    voters = {_voter(r.backend): r for r in results if r.backend != REFERENCE}
    return Counter(_side(r) for r in voters.values())


def _named(sides: Counter[str]) -> str:
    return ", ".join(f"{v} with {k}" for k, v in sorted(sides.items()))


def graph_author(exporter: str) -> str:
    """Who wrote a graph, as evidence names it: torch's exporter, or the case itself (a direct case)."""
    return "the case" if exporter == DIRECT_EXPORTER else f"torch's {exporter} exporter"


def ours_if_direct(attribution: Attribution, exporter: str) -> Attribution:
    """Where the graph is at fault and the case wrote it itself (a direct case), the fault is the case's."""
    if exporter != DIRECT_EXPORTER or attribution.party != Party.EXPORTER:
        return attribution
    return Attribution(
        Party.CASE,
        f"{attribution.evidence} [the case writes this graph itself (exporter {DIRECT_EXPORTER!r}): its node or its "
        "torch meaning of the spec is in question]",
    )


def divergence(peers: Sequence[Result], kind: str = "") -> Attribution:
    """Who is wrong where torch and the ONNX reference evaluator diverge on a graph: the backends decide.

    Without a majority, a divergence in dtype or shape still points at the
    graph: the reference evaluator follows the types the graph declares.
    """
    sides = _sides(peers)
    exporter = peers[0].exporter
    refused = next((m for p in peers if (m := _schema_refusal(p)) is not None), None)
    if refused is not None and not sides["torch"]:
        # A lenient reference evaluator runs a graph ONNX's own type and shape inference rejects: it diverges
        # from torch because the graph is not one the spec gives a meaning to.
        return Attribution(
            Party.EXPORTER,
            f"torch and the ONNX reference evaluator diverge on a graph ONNX's own op schemas reject ({refused}): "
            f"{graph_author(exporter)} wrote an invalid model",
        )
    if sides["torch"] > sides["reference"]:
        return Attribution(
            Party.REFERENCE,
            f"torch and the ONNX reference evaluator diverge; the backends side with torch ({_named(sides)}): "
            "the reference evaluator is wrong on this graph",
        )
    if sides["reference"] > sides["torch"]:
        return Attribution(
            Party.EXPORTER,
            f"torch and the ONNX reference evaluator diverge; the backends side with the reference "
            f"({_named(sides)}): the graph {graph_author(exporter)} wrote computes something other than "
            "torch (or the spec allows both)",
        )
    if kind in (Outcome.DTYPE, Outcome.SHAPE):
        return Attribution(
            Party.EXPORTER,
            f"the graph {graph_author(exporter)} wrote gives another {kind} than torch: the reference evaluator, "
            f"which follows the graph's types, differs from torch in {kind} (backends: {_named(sides) or 'none'})",
        )
    return Attribution(
        Party.SPEC, f"torch and the ONNX reference evaluator diverge, and the backends split ({_named(sides)})"
    )


#: A load failure reported by ONNX's shape and type inference, which onnxruntime runs on every model it loads:
#: the op schema's inference ("[ShapeInferenceError] Input rank must be >= 1 for Softmax") or its type
#: constraints ("Type Error: Type 'tensor(bool)' of input parameter (x) of operator (IsNaN) ... is invalid").
_SCHEMA_CHECK = re.compile(
    r"Op \(\w+\) \[ShapeInferenceError\][^\n]{0,160}|Type Error: Type '[^']+' of input parameter[^\n]{0,160}"
    r"|Type Error: Type parameter \(\w+\) of Optype \(\w+\) bound to different types[^\n]{0,120}"
)


def _schema_refusal(result: Result) -> str | None:
    """The words in which ONNX's own inference refused the graph on this backend's load, if it did."""
    if _actual(result) is not Outcome.LOAD_FAIL:
        return None
    found = _SCHEMA_CHECK.search(own_message(result))
    return found.group(0).strip() if found else None


#: Backends whose `unsupported` comes after ONNX's own checks of the graph passed: onnxruntime resolves the graph
#: (type and shape inference by the op schemas) before it looks for a kernel ("NOT_IMPLEMENTED").
_CHECKS_BEFORE_KERNELS = ("onnxruntime",)


def _checked_but_unsupported(voters: Iterable[Result]) -> str:
    """The backend that checked the graph and lacks only a kernel for it, if one did: then it is not invalid."""
    return next(
        (p.backend for p in voters if p.outcome is Outcome.UNSUPPORTED and _voter(p.backend) in _CHECKS_BEFORE_KERNELS),
        "",
    )


def attribute(result: Result, outcome: Outcome, peers: Sequence[Result]) -> Attribution:
    """Whose fault one failing result is, from what the other backends did on the same graph."""
    if outcome is Outcome.EXPORT_FAIL:
        return Attribution(Party.EXPORTER, f"{graph_author(result.exporter)} raised at opset {result.opset}")
    # ONNX's own shape and type inference (which onnxruntime runs on load) rejects the graph, on this backend or
    # another: the spec says it is invalid, whichever backends run it anyway (torchscript's Softmax on a 0-d
    # tensor, dynamo's IsNaN on bool, torchscript's opset-17 QuantizeLinear of float16 that IREE answers in float32).
    refused = next((p for p in (result, *peers) if _schema_refusal(p) is not None), None)
    if refused is not None:
        made = "" if refused is result else f"; {outcome} on {result.backend} is what it made of it"
        return Attribution(
            Party.EXPORTER,
            f"{refused.backend} rejects the graph {graph_author(result.exporter)} wrote by ONNX's own op schemas "
            f"({_schema_refusal(refused)}): the exported model breaks the spec, whichever backends run it anyway"
            + made,
        )
    voters = {
        _voter(p.backend): p for p in peers if p.backend != REFERENCE and _voter(p.backend) != _voter(result.backend)
    }
    ran = sum(p.outcome in (Outcome.PASS, Outcome.MISMATCH, Outcome.SPECIAL, Outcome.XFAIL) for p in voters.values())
    checked = _checked_but_unsupported(voters.values())
    if outcome in (Outcome.LOAD_FAIL, Outcome.RUN_ERROR) and result.oracle is OracleAgreement.NO_SPEC:
        if result.backend == REFERENCE and ran:
            # onnx 1.23's evaluator has no DequantizeLinear before version 19: the graph is fine, the evaluator short.
            return Attribution(
                Party.REFERENCE,
                f"the ONNX reference evaluator cannot run a graph {ran} of {len(voters)} other backends run "
                f"(opset {result.opset})",
            )
        if result.backend == REFERENCE and checked:
            return Attribution(
                Party.REFERENCE,
                f"the ONNX reference evaluator cannot run a graph {checked} loads (ONNX's type and shape inference "
                f"pass) and only lacks a kernel for (opset {result.opset}): the graph is valid, no backend ran it",
            )
        if (result.backend == REFERENCE or not ran) and not checked:
            return Attribution(
                Party.EXPORTER,
                f"the ONNX reference evaluator cannot run the graph {graph_author(result.exporter)} wrote either: "
                "the exported model is invalid",
            )
    gave_nothing = outcome in (Outcome.CRASH, Outcome.TIMEOUT, Outcome.LOAD_FAIL, Outcome.RUN_ERROR)
    if result.oracle is OracleAgreement.DIVERGE and not gave_nothing:
        return Attribution(
            Party.BACKEND,
            f"torch and the ONNX reference evaluator diverge, and {result.backend} matches neither "
            f"(the others: {_named(_sides(voters.values()))})",
        )
    if gave_nothing:
        if result.oracle is OracleAgreement.NO_SPEC and voters and not ran and not checked:
            # tract aborting on the Pad torch wrote for `unfold`, which onnxruntime rejects and the reference
            # evaluator cannot run: the graph is the root cause; dying on it is the backend's lesser fault.
            return Attribution(
                Party.EXPORTER,
                f"{outcome} on {result.backend}, but none of {len(voters)} other backends nor the ONNX reference "
                f"evaluator can run the graph {graph_author(result.exporter)} wrote: the exported model is invalid",
            )
        return Attribution(
            Party.BACKEND, f"{outcome} on {result.backend}; {ran} of {len(voters)} other backends ran the same graph"
        )
    same = sum(_actual(p) is outcome for p in voters.values())
    passed = sum(p.outcome is Outcome.PASS for p in voters.values())
    if result.oracle is OracleAgreement.NO_SPEC:
        oracles = "torch is the only oracle (the ONNX reference evaluator cannot run the graph)"
        if len(voters) >= 2 and same / len(voters) >= CONSENSUS:
            return Attribution(
                Party.EXPORTER,
                f"{oracles}, and {same} of {len(voters)} other backends also give {outcome}: the backends agree "
                f"with one another against torch, so the graph {graph_author(result.exporter)} wrote computes "
                "something other than torch (or the spec allows both)",
            )
        return Attribution(Party.BACKEND, f"{oracles}; {passed} of {len(voters)} other backends pass on the same graph")
    oracles = "torch and the ONNX reference evaluator agree"
    if len(voters) >= 2 and same / len(voters) >= CONSENSUS:
        # In special mode a wrong index or integer (ArgMax over a NaN) is a mismatch, not `special`: the
        # question is still which convention the spec gives.
        special = outcome is Outcome.SPECIAL or result.values is Values.SPECIAL
        party = Party.SPEC if special else Party.CASE
        why = (
            "the spec leaves this special value open, or the backends follow one convention against it"
            if party == Party.SPEC
            else "the case's truth or tolerance is in question"
        )
        return Attribution(party, f"{oracles}, but {same} of {len(voters)} other backends also give {outcome}: {why}")
    return Attribution(
        Party.BACKEND,
        f"{oracles}; {passed} of {len(voters)} other backends pass on the same graph"
        + (f" ({same} fail the same way)" if same else ""),
    )


def own_message(r: Result) -> str:
    """The backend's message, without the `[outcome] ` an expectation put before it when it waived the result."""
    prefix = f"[{_actual(r)}] "
    return r.message[len(prefix) :] if r.outcome is Outcome.XFAIL and r.message.startswith(prefix) else r.message


def _actual(r: Result) -> Outcome:
    """What the backend did, before an expectation waived it."""
    raw = r.waiver.get("actual") if r.waiver else None
    return Outcome(raw) if raw else r.outcome


_DIVERGE_KIND = re.compile(r"reference evaluator vs torch: (\w[\w-]*)")


def cluster(results: Iterable[Result], *, ops: Mapping[str, str] | None = None) -> list[Finding]:
    """The findings behind a run's results, largest first; `ops` maps a result key to its localized op.

    A divergence between the oracles is a finding even where every backend
    passed (each matched one oracle): the exported graph or the reference
    evaluator is wrong, and that is news for the exporter or for ONNX. Where
    the reference evaluator is the wrong one, a backend that sided with it is
    wrong too.
    """
    by_graph: dict[tuple[str, str, int], list[Result]] = defaultdict(list)
    for r in results:
        by_graph[_graph_key(r)].append(r)
    groups: dict[str, dict[str, Any]] = {}

    def add(r: Result, outcome: Outcome, attribution: Attribution, message: str, backend: str, exporter: str) -> None:
        attribution = ours_if_direct(attribution, r.exporter)
        op = (ops or {}).get(result_key(r)) or r.case_id.split("[", 1)[0]
        words = normalize_message(message)
        dtype = result_dtype(r)
        if outcome is Outcome.EXPORT_FAIL and _names_an_op(words) and not _names_dtype(words, dtype):
            dtype = "-"  # an operator the exporter cannot lower, in words that name no dtype: every dtype's cause
        sig = signature_of(backend, exporter, op, dtype, str(outcome), words)
        fid = finding_id(sig)
        g = groups.setdefault(
            fid, {"sig": sig, "attr": attribution, "instances": set(), "cases": set(), "n": 0, "ex": r}
        )
        g["instances"].add(r.case_id)
        g.setdefault("members", []).append(result_key(r))
        g["cases"].add(r.case_id.split("[", 1)[0])
        g["n"] += 1
        g["unexpected"] = g.get("unexpected", 0) + (r.outcome in FAILING)  # failing and not waived

    for peers in by_graph.values():
        diverged = next((p for p in peers if p.oracle is OracleAgreement.DIVERGE), None)
        verdict = None
        if diverged is not None:
            kind = _DIVERGE_KIND.search(diverged.message)
            outcome = Outcome(kind.group(1)) if kind and kind.group(1) in set(Outcome) else Outcome.MISMATCH
            verdict = divergence(peers, outcome)
            graph_party = REFERENCE if verdict.party == Party.REFERENCE else "*"
            add(diverged, outcome, verdict, "oracles diverge", graph_party, diverged.exporter)
        for r in peers:
            outcome = _actual(r)
            if outcome in FAILING and outcome is not Outcome.XPASS:
                attribution = attribute(r, outcome, peers)
                own = attribution.party in (Party.BACKEND, Party.REFERENCE)  # a fault of the one that ran it
                message = own_message(r)
                if not own and outcome in (Outcome.LOAD_FAIL, Outcome.RUN_ERROR):
                    # An invalid graph: each backend words its refusal its own way; the cause is one.
                    outcome, message = Outcome.LOAD_FAIL, "the exported model is invalid"
                add(r, outcome, attribution, message, r.backend if own else "*", "*" if own else r.exporter)
            elif (
                verdict is not None
                and verdict.party == Party.REFERENCE
                and r.backend != REFERENCE
                and _side(r) == "reference"
            ):
                why = Attribution(
                    Party.BACKEND,
                    f"{r.backend} sides with the ONNX reference evaluator, which is wrong here: {verdict.evidence}",
                )
                add(
                    r,
                    Outcome.MISMATCH,
                    why,
                    "sides with the reference evaluator against torch and the other backends",
                    r.backend,
                    "*",
                )
    findings = [
        Finding(
            id=fid,
            party=g["attr"].party,
            evidence=g["attr"].evidence,
            instances=tuple(sorted(g["instances"])),
            results=g["n"],
            unexpected=g.get("unexpected", 0),
            members=tuple(g["members"]),
            cases=tuple(sorted(g["cases"])),
            example=_example(g["ex"]),
            **g["sig"],
        )
        for fid, g in groups.items()
    ]
    return sorted(findings, key=lambda f: (-f.results, f.id))


def result_key(r: Result) -> str:
    return f"{r.case_id}|{r.backend}|{r.exporter}|{r.opset}"


def _graph_key(r: Result) -> tuple[str, str, int]:
    return (r.case_id, r.exporter, r.opset)


def _example(r: Result) -> dict[str, Any]:
    """The first result of a finding: where to localize it from, and expected against got for the report."""
    m = r.metrics
    return {
        "case_id": r.case_id,
        "backend": r.backend,
        "exporter": r.exporter,
        "opset": r.opset,
        "values": str(r.values),
        "message": r.message.splitlines()[0][:300] if r.message else "",
        "worst_index": list(m.worst_index),
        "expected": m.worst_expected,
        "got": m.worst_actual,
        "max_abs_error": m.max_abs_error if m.elements else None,
        "max_ulp": m.max_ulp if m.elements else None,
    }


def with_history(
    current: Sequence[Finding], earlier: Sequence[tuple[str, Sequence[Finding]]], run_id: str, started: str
) -> list[Finding]:
    """Each finding's status against earlier runs (oldest first): new, known, and the fixed ones from the last run.

    `earlier` holds (run started, findings) of the runs before this one in its series.
    """
    first: dict[str, str] = {}
    for when, found in earlier:
        for f in found:
            first.setdefault(f.id, when)
    out = [
        replace(f, status="known" if f.id in first else "new", first_seen=first.get(f.id, started), last_seen=started)
        for f in current
    ]
    if earlier:
        when, last = earlier[-1]
        now = {f.id for f in current}
        out += [
            replace(f, status="fixed", first_seen=first.get(f.id, when), last_seen=when, results=0)
            for f in last
            if f.id not in now
        ]
    return out


#: Earlier runs of a series a run's findings are compared with: enough to say new or known, and cheap.
HISTORY_RUNS = 10


def signature_op(node: Mapping[str, Any]) -> str:
    """A culprit node as a signature names it: its op type, and the string attributes that pick its code path.

    Modes (Resize's mode and coordinate transformation, Pad's mode, ...) select
    different kernels, so they separate causes; numbers (axes, sizes) do not.
    """
    domain = str(node.get("domain") or "")
    op = str(node.get("op_type", "?")) if domain in ("", "ai.onnx") else f"{domain}.{node.get('op_type', '?')}"
    modes = sorted((k, v) for k, v in dict(node.get("attributes") or {}).items() if isinstance(v, str))
    return op + (f"({', '.join(f'{k}={v}' for k, v in modes)})" if modes else "")


def localized(results: Sequence[Result], localizations: Sequence[Any]) -> list[Finding]:
    """Findings whose op is the culprit node's where one was localized, so causes merge across cases.

    Localizations are recorded against the case-level findings (before any
    op is known); each one's op then stands for every result of that finding.
    """
    first = cluster(results)
    by_id = {loc.finding: loc for loc in localizations}
    ops: dict[str, str] = {}
    where: dict[str, Any] = {}
    for f in first:
        loc = by_id.get(f.id)
        if loc is None:
            continue
        for key in f.members:
            # A result can be two findings' (a load failure on a graph whose oracles diverge is its backend's
            # and the divergence's example): the divergence's "not investigated" must not hide the node the
            # backend's was localized to.
            if loc.status == "not-investigated" and key in where:
                continue
            where[key] = loc
            if loc.op:
                ops[key] = loc.op
    if not where:
        return first
    out = []
    for f in cluster(results, ops=ops):
        loc = next((where[k] for k in f.members if k in where), None)
        if loc is not None:
            f = replace(
                f,
                node=loc.node,
                repro=loc.repro or "",
                evidence=f"{f.evidence}. Localized ({loc.status}): {loc.evidence}",
            )
            if loc.status == "not-reproduced" and f.party == Party.BACKEND:
                # The backend computes what the ONNX reference evaluator does on the whole model: it differs from
                # torch only, so the graph (what the exporter wrote, or what the spec makes of it) is in question.
                graph = ours_if_direct(Attribution(Party.EXPORTER, f"{f.evidence}: the backend follows the graph, "
                            "which computes something other than torch (or the spec allows both)"), f.exporter)  # fmt: skip
                f = replace(f, party=graph.party, evidence=graph.evidence)
        out.append(f)
    return out


def run_findings(store: Any, run_id: str, results: Sequence[Result] | None = None) -> list[Finding]:
    """A recorded run's findings, localized where `findings --reduce` did, with status against earlier runs.

    `results`, the run's own where the caller already read them (a 50,000-result run takes seconds to read).
    """
    from .history import series_runs

    run = store.run(run_id)

    def of(rid: str) -> list[Finding]:
        own = results if rid == run.id and results is not None else store.results(rid)
        return localized(own, store.localizations(rid))

    earlier = [r for r in series_runs(store, run, limit=HISTORY_RUNS + 1) if r.id != run.id]
    history = [(r.started, of(r.id)) for r in earlier]
    return with_history(of(run.id), history, run.id, run.started)


def format_text(findings: Sequence[Finding], limit: int = 60) -> str:
    """One line a finding, newest and largest first; the evidence below it."""
    if not findings:
        return "no findings: every result passed or was unsupported"
    parties = Counter(f.party for f in findings if f.status != "fixed")
    lines = [
        f"{sum(f.status != 'fixed' for f in findings)} findings ("
        + ", ".join(f"{n} {p}" for p, n in sorted(parties.items()))
        + f"), {sum(f.status == 'fixed' for f in findings)} fixed since the last run"
    ]
    order = {"new": 0, "known": 1, "fixed": 2}
    for f in sorted(findings, key=lambda f: (order.get(f.status, 3), -f.results, f.id))[:limit]:
        who = f.backend if f.backend != "*" else f"{f.exporter} export"
        lines.append(
            f"{f.id} [{f.status}] {f.party}: {who}, {f.op} ({f.dtype}) {f.outcome}, "
            f"{f.results} results in {len(f.instances)} instances"
        )
        lines.append(f"    {f.message}")
        lines.append(f"    evidence: {f.evidence}")
    if len(findings) > limit:
        lines.append(f"... and {len(findings) - limit} more (--json lists every one)")
    return "\n".join(lines)


def _glob_escape(text: str) -> str:
    """`text` as an fnmatch pattern that matches itself only: [, * and ? stand for themselves."""
    return "".join(f"[{c}]" if c in "[]*?" else c for c in text)


def expectation_entries(findings: Iterable[Finding], results: Iterable[Result] = ()) -> list[dict[str, Any]]:
    """One expectation entry per finding that still fails unexpectedly: its signature, party and evidence.

    The entry names the case without an instance hash and carries the
    normalized message, so it matches every draw of that cause at any seed and
    nothing else; the reason says whose fault it is and why.

    A finding about the graph (the exporter's, the spec's: backend `*`) shows
    on each backend in that backend's own words (a load failure here, a run
    error there), so it is written as one entry per backend, outcome and
    message among its results, each naming the finding; `results` are the
    run's, to read those from.
    """
    results = list(results)
    by_key = {result_key(r): r for r in results}
    out = []
    by_op: dict[tuple[str, ...], dict[str, Any]] = {}
    for f in findings:
        if f.status == "fixed" or not f.unexpected:
            continue
        example = f.example.get("case_id", "")
        reason = f"{f.party}: {_brief(f.evidence)}. Finding {f.id}: {f.results} results in {len(f.instances)} instances"
        reason += (f", e.g. {example}" if example else "") + (f"; repro: {f.repro}" if f.repro else "")
        op_entry = _op_entry(f, results)
        if op_entry is not None:
            key = tuple(map(str, op_entry.values()))
            if key not in by_op:  # two findings of one op (Resize in two modes) share its entry
                by_op[key] = {**op_entry, "finding": f.id, "reason": reason}
            continue
        members = [by_key[k] for k in f.members if k in by_key] if f.backend == "*" else []
        said: dict[tuple[str, str], set[str]] = defaultdict(set)  # (outcome, message) -> the backends that said it
        for r in members:
            if r.outcome in FAILING:
                said[(str(r.outcome), normalize_message(r.message))].add(r.backend)
        # Words more than one backend shares (an export failure reaches all of them alike) are any backend's.
        unwaived = {(next(iter(b)) if len(b) == 1 else "*", o, m) for (o, m), b in said.items()}
        ways = sorted(unwaived) or [(f.backend, f.outcome, f.message)]
        for case in f.cases:
            for backend, outcome, message in ways:
                entry: dict[str, Any] = {"backend": backend, "case": case}
                if f.exporter != "*":
                    entry["exporter"] = f.exporter
                if f.dtype != "-" and _dtype_matters(f, case, results, backend, outcome, message):
                    entry["dtype"] = _pinned_dtype(message, f.dtype)
                entry["outcome"] = outcome
                entry["message"] = _glob_escape(message)
                entry["finding"] = f.id
                entry["reason"] = reason
                out.append(entry)
    return _across_cases(out) + list(by_op.values())


#: Characters of a finding's evidence an expectation's reason quotes: a compiler's crash report runs to pages,
#: and the finding's id and repro bundle keep all of it.
REASON_EVIDENCE = 700


def _brief(evidence: str) -> str:
    text = " ".join(evidence.split())
    return text if len(text) <= REASON_EVIDENCE else text[: REASON_EVIDENCE - 3].rstrip() + "..."


def _op_entry(f: Finding, results: Sequence[Result]) -> dict[str, Any] | None:
    """The entry of a backend's failure localized to one node: any case (whose graph holds that op type, for
    a wrong answer) that fails that way on that backend, at any exporter. A wrong answer's words ("3 of 12
    elements off") are every cause's, so the case and the normalized message, the other entries' keys,
    would hold the next seed's draw of the same bug (another rank, another case lowering to the same node)
    apart: its entry is the op and the outcome. An error is its words, in any case (localizing showed they are the backend's,
    not the case's): tract panicking in GatherND on advanced indexing, or TVM refusing IsNaN in bfloat16,
    whichever case meets it; where its words say nothing of why ("object is not initialized"), the op too.

    The dtype is pinned only where a dtype is shown to matter: the message names one, or (a wrong answer) a
    draw of the same case and settings in another dtype did not fail so. Tract's Celu ignores alpha in any
    dtype; the draw of another dtype that passed had alpha 1, and other settings say nothing about the dtype.
    An error's node failed alone on the reference's values: another dtype's draw that passed held other
    values (indices in range), so only the words pin an error's dtype.
    """
    if not f.node or "/" in f.op or f.backend == "*" or f.party != "backend":
        return None
    numeric = f.outcome in _NUMERIC
    if not numeric and f.outcome not in _SAYS_WHY and f.outcome != "timeout":
        return None
    domain = str(f.node.get("domain") or "")
    op_type = str(f.node.get("op_type") or "")
    if not op_type:
        return None
    entry: dict[str, Any] = {"backend": f.backend, "case": "*"}
    if numeric or not _names_its_cause(f.message):
        entry["op"] = op_type if domain in ("", "ai.onnx") else f"{domain}.{op_type}"
    # else words that say why are the cause wherever they show: onnx2torch refusing a bfloat16 array, or tract
    # finding no I64 kernel, fails the same way whichever node the triage run met it in.
    if f.dtype != "-" and (
        _names_dtype(f.message, f.dtype)
        or (numeric and any(_other_dtype_fared_otherwise(f, case, results) for case in f.cases))
    ):
        entry["dtype"] = _pinned_dtype(f.message, f.dtype)
    entry["outcome"] = f.outcome
    if not numeric:
        entry["message"] = _glob_escape(f.message)
    return entry


def _other_dtype_fared_otherwise(f: Finding, case: str, results: Sequence[Result]) -> bool:
    """A draw of the case in another dtype, with the settings of one in the finding's, did not give its outcome
    (a wrong answer's words are any wrong answer's: the outcome alone says "so")."""
    mine = {_settings(r) for r in results if r.case_id.split("[", 1)[0] == case and result_dtype(r) == f.dtype}
    others = _other_dtypes(f, case, results, mine, backend=f.backend) if mine else []
    return any(str(_actual(r)) != f.outcome for r in others)


def _other_dtypes(
    f: Finding, case: str, results: Sequence[Result], settings: set[str], *, backend: str, exporter: str = "*"
) -> list[Result]:
    """The case's results in a dtype other than the finding's, on `backend` and `exporter` ("*": any), drawn
    with settings among `settings` (any where it is empty): draws that differ in their dtype alone."""
    return [
        r
        for r in results
        if r.case_id.split("[", 1)[0] == case
        and result_dtype(r) != f.dtype
        and (backend == "*" or r.backend == backend)
        and (exporter == "*" or r.exporter == exporter)
        and (not settings or _settings(r) in settings)
    ]


#: Outcomes whose message is the backend's (or the exporter's) own error, which names its cause; a wrong
#: number does not. An exporter's message is read from its exception summary (`model.normalize_message`), not
#: its first line ("Failed to convert the exported program ... step 3/3"), the same for any cause.
_SAYS_WHY = frozenset({"load-fail", "run-error", "crash", "export-fail"})
#: Words an error message opens with whatever its cause.
_NO_CAUSE = frozenset(
    {"runtimeerror", "exception", "error", "from", "src", "typeerror", "valueerror", "failed", "fail"}
)


def _names_its_cause(message: str) -> bool:
    """Whether a normalized error message says more than that something failed (OpenVINO's first line,
    `RuntimeError: Exception from src<path>:<n>:`, says nothing; tract's panic reason does)."""
    if "This is step" in message:
        return False  # torch.onnx's first line, where its error had no exception summary to read the cause from
    words = [
        w.lower() for w in re.findall(r"[A-Za-z][A-Za-z_]{2,}", message.replace("<path>", " ").replace("<n>", " "))
    ]
    return len([w for w in words if w not in _NO_CAUSE]) >= 4


@functools.cache
def _onnx_op_types() -> frozenset[str]:
    import onnx

    # Op types long enough not to be a word that starts a sentence ("Size", "Shape", "Range" are both).
    return frozenset(s.name for s in onnx.defs.get_all_schemas_with_history() if len(s.name) > 5 or s.name.isupper())


def _names_an_op(message: str) -> bool:
    """Whether an error names the ONNX operator it is about ("Sigmoid does not support F64", "Could not find
    an implementation for ConvTranspose(11)"): then it is that operator's, in whichever case it shows."""
    if re.search(r"'(aten|prims)(?:\.|::)[^']+'", message):
        return True  # torch's operator, as the exporter names it
    if re.search(r"#<n> (?:<name> )?[A-Z][A-Za-z]+\d*\b", message):
        return True  # tract's node reference, `#3 "n0" IsNan`: the word after it is the node's op, in tract's name
    return any(w in _onnx_op_types() for w in re.findall(r"[A-Z][A-Za-z]+", message))


def _across_cases(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry for a backend's error that shows in several cases in the same words (tract panicking on
    every int64 MatMul, onnx2torch refusing every bfloat16 initializer), or that names its operator (tract's
    "Sigmoid does not support F64"): the next seed meets the same cause in a case the triage run did not
    draw it in. A message that names no cause stays per case."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for e in entries:
        key = (e["backend"], e.get("exporter"), e["outcome"], e["message"])
        if e["outcome"] in _SAYS_WHY and _names_its_cause(e["message"]):
            groups[key].append(e)
    out, merged = [], set()
    for e in entries:
        key = (e["backend"], e.get("exporter"), e["outcome"], e["message"])
        group = groups.get(key, [])
        if len({g["case"] for g in group}) < 2 and not (group and _names_an_op(e["message"])):
            out.append(e)
            continue
        if key in merged:
            continue
        merged.add(key)
        cases = sorted({g["case"] for g in group})
        findings = sorted({g["finding"] for g in group})
        entry = {k: v for k, v in e.items() if k not in ("dtype", "finding", "reason")}
        entry["case"] = "*"
        dtypes = {g.get("dtype", "") for g in group}
        if len(dtypes) == 1 and "" not in dtypes:  # every case's entry is one dtype's ("F64" in its words)
            entry["dtype"] = dtypes.pop()
        entry["finding"] = findings[0]
        entry["reason"] = (
            f"{e['reason'].split('. Finding ')[0]}. The same error in {len(cases)} cases "
            f"({', '.join(cases[:6])}{', ...' if len(cases) > 6 else ''}); findings {', '.join(findings[:6])}"
        )
        out.append(entry)
    return out


#: Outcomes that are a wrong answer: the same words ("3 of 12 elements off") whatever the cause, so nothing but
#: the dtype tells one cause from another where no other dtype ran.
_NUMERIC = frozenset({"mismatch", "special", "shape", "dtype", "xpass"})
_WIDTH = r"(?:\d+|<n>)(?![A-Za-z])"
#: How an error may name a dtype of each kind, in numpy's, ONNX's, tract's (F32, I64), TVM's (T.float32) and
#: OpenVINO's spellings, once numbers read `<n>`. Not a bare "float": TVM's "power only applies to float"
#: refuses bool and int32 alike.
_DTYPE_KIND_WORDS = {
    "float": re.compile(rf"\b(?:[Ff]loat|F|f){_WIDTH}|\b(?:double|half)\b"),
    "bfloat": re.compile(rf"\b(?:[Bb][Ff]loat|BF|bf){_WIDTH}|\bbfloat\b"),
    "int": re.compile(rf"\b(?:[Ii]nt|I|i){_WIDTH}"),
    "uint": re.compile(rf"\b(?:[Uu]int|U|u){_WIDTH}"),
    "bool": re.compile(r"\b[Bb]ool(?:ean)?\b"),
    "complex": re.compile(r"\b[Cc]omplex"),
    "str": re.compile(r"\b[Ss]tring\b"),
}


def _names_dtype(message: str, dtype: str) -> bool:
    """Whether an error names a dtype of `dtype`'s kind: tract's "Sigmoid does not support F64" names a
    float64 draw's; "Bool is not a number", where an int64 draw's graph compares, names a dtype of its own."""
    kind = re.sub(r"\d+$", "", dtype)
    pattern = _DTYPE_KIND_WORDS.get(kind)
    patterns = [pattern] if pattern is not None else _DTYPE_KIND_WORDS.values()  # a dtype of no known kind: any
    return any(p.search(message) for p in patterns)


def _pinned_dtype(message: str, dtype: str) -> str:
    """The dtype glob an entry pins: where the words name the dtype, its kind in any width (`float*`).

    Normalized words read `T.float<n>` and `dtype int<n>, expected int<n>`: they cannot tell float16 from
    float64, so the width the triage run happened to draw is not the cause's. TVM's Elu importer builds a
    float32 constant whatever its input, and refuses float16 in the words it refused float64 in; onnx2torch's
    ReduceSum returns int64 for int8 as for int32. The kind still keeps a bool's words from an int's.
    """
    if not _names_dtype(message, dtype):
        return dtype
    kind = re.sub(r"\d+$", "", dtype)
    return f"{kind}*" if kind != dtype else dtype


def _dtype_matters(f: Finding, case: str, results: Sequence[Result], backend: str, outcome: str, message: str) -> bool:
    """Whether the cause is the dtype's: some other dtype of the case, drawn with the same other parameters,
    ran on the same backend and exporter without failing this way. Where every dtype drawn failed alike (an
    op the exporter cannot lower at all), an entry pinned to the one dtype seen would miss the same cause at
    the next seed's dtype; and a draw that differed in more than its dtype says nothing about the dtype.

    An error that names a dtype of its kind is that dtype's. One that names its operator and no dtype (an exporter with
    no function for `aten.sort.stable`, tract's "Sigmoid ... Caused by") is any dtype's: a draw of another dtype
    that passed differed in more than its dtype (`stable` was not drawn). Otherwise the other dtypes' results
    decide; where none ran, an error that names its cause is any dtype's, and a wrong answer, whose words are
    the same for every cause, stays pinned to its dtype.
    """
    if _names_dtype(message, f.dtype):
        return True
    if outcome not in _NUMERIC and _names_an_op(message):
        return False
    if not results:
        return True
    mine = [r for r in results if r.case_id.split("[", 1)[0] == case and _fails_so(r, outcome, message)]
    settings = {_settings(r) for r in mine if result_dtype(r) == f.dtype}
    others = _other_dtypes(f, case, results, settings, backend=backend, exporter=f.exporter)
    if not others:
        # An exporter refusing in words that name no dtype (torchscript's "For (quant_min, quant_max), ONNX
        # allows only ...") refuses the next seed's dtype alike: only a dtype that exported says otherwise.
        return outcome in _NUMERIC or (outcome != Outcome.EXPORT_FAIL and not _names_its_cause(message))
    return any(not _fails_so(r, outcome, message) for r in others)


def _fails_so(r: Result, outcome: str, message: str) -> bool:
    return str(_actual(r)) == outcome and normalize_message(_unwaived_message(r)) == message


def _settings(r: Result) -> str:
    """A result's drawn parameters but its dtype and the tensors it drew (`"x": "float32[2, 3]"`, shapes):
    two draws with the same settings differ only in dtype and sizes."""
    kept = {
        k: v
        for k, v in (r.params or {}).items()
        if k not in ("dtype", "shape", "weights_seed", "export_shapes", "dynamic_axes")
        and not (isinstance(v, str) and re.fullmatch(r"\w+\[[\d, ]*\]", v))
        and not k.endswith("shape")
    }
    return json.dumps(kept, sort_keys=True, default=str)


def _unwaived_message(r: Result) -> str:
    """A result's own message, without the `[outcome] ` an expectation put before it."""
    return re.sub(r"^\[[\w-]+\] ", "", r.message) if r.waiver else r.message


def finding_of(findings: Iterable[Finding]) -> dict[str, str]:
    """Result key to the id of the finding that explains it."""
    return {key: f.id for f in findings for key in f.members}


def changed_findings(store: Any, run_a: str, run_b: str) -> tuple[list[Finding], list[Finding]]:
    """Findings of run B that run A did not have (new), and those of A that B no longer has (fixed)."""

    def of(run_id: str) -> dict[str, Finding]:  # localized as `findings` shows them, so the ids are the same
        rid = store.run(run_id).id
        return {f.id: f for f in localized(store.results(rid), store.localizations(rid))}

    a, b = of(run_a), of(run_b)
    return [f for i, f in b.items() if i not in a], [f for i, f in a.items() if i not in b]
