"""Expectations: the one file format for known failures, shared by the CLI and the pytest plugin.

A TOML file of `[[expectation]]` tables:

    [[expectation]]
    backend = "onnxruntime"           # glob over backend names
    case = "conv/conv2d"              # case id, tree path or name; globs allowed
    outcome = "unsupported"           # or a list of outcomes
    reason = "no float64 Conv kernel on the CPU provider"
    link = "https://..."              # optional
    backend_versions = ">=1.18,<2"    # optional PEP 440 range of the backend's version
    opset = ">=18"                    # optional: an opset or a range
    exporter = "dynamo"               # optional glob
    dtype = "float64"                 # optional glob over the instance's drawn dtype
    message = "output <n>: *"         # optional glob over the message with numbers, paths, hashes and
                                      #   quoted names replaced (model.normalize_message)
    finding = "F0123456789"           # optional: the finding the entry was written from (`findings`)
    op = "Celu"                       # optional glob over the op types of the instance's exported graph
                                      #   (domain-prefixed outside ONNX's): a cause localized to one node
    flaky = false                     # optional: the outcome comes and goes

An entry for a root cause rather than one instance names the case without
its hash and carries `message` or `op`: it then matches every draw that
fails that way, at any seed; it never turns a pass into `xpass` (a pass is
no news about a way of failing), and `conformance findings` says when its
cause is fixed. `op` is how a wrong answer is known by its cause: its words
("3 of 12 elements off") are the same for every cause, but the node that
localizing found wrong alone is in the graph of every draw that meets it.
An `op` entry matches only where the caller knows the graph's ops.

A result that matches an entry naming its outcome becomes `xfail`; one that
passes becomes `xpass` (the entry is stale) unless a matching entry is flaky.
A different failure stays what it is: it was not expected.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
import tempfile
import tomllib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from .model import FAILING, Outcome, Result, normalize_message, result_dtype

#: Outcomes an expectation may name: every way of not passing.
EXPECTABLE = frozenset(FAILING - {Outcome.XPASS}) | {Outcome.UNSUPPORTED}
_KEYS = {
    "backend", "case", "outcome", "reason", "link", "backend_versions", "opset", "exporter", "dtype", "message",
    "finding", "flaky", "op",
}  # fmt: skip
_REQUIRED = ("backend", "case", "outcome", "reason")
PLACEHOLDER = "TODO: triage"


class ExpectationError(ValueError):
    """The expectations file is malformed; the message names the file and line."""


def builtin_path() -> Path:
    """The reviewed expectations for the built-in backends, shipped with the package."""
    return Path(__file__).with_name("data") / "expectations.toml"


def resolve_path(value: str | None) -> Path | None:
    """An `--expectations` value: unset means the shipped file, `none` (any case) means no file."""
    if value is None:
        return builtin_path()
    return None if value.lower() == "none" else Path(value)


@dataclass(frozen=True)
class Expectation:
    backend: str
    case: str
    outcomes: tuple[Outcome, ...]
    reason: str
    link: str = ""
    backend_versions: str = ""
    opset: str = ""
    exporter: str = ""
    dtype: str = ""
    message: str = ""
    finding: str = ""
    flaky: bool = False
    op: str = ""
    line: int = 0

    @property
    def about_cause(self) -> bool:
        """A root-cause entry: it speaks of a way of failing, not of the instances it met."""
        return bool(self.message or self.op)

    def matches(self, result: Result, ops: Collection[str] | None = None) -> bool:
        """`ops`: the op types of the result's graph, None where unknown (then an `op` entry cannot match)."""
        if self.backend != result.backend and not fnmatch.fnmatchcase(result.backend, self.backend):
            return False
        path = f"{result.category}/{result.case}"
        if (
            self.case != "*"
            and self.case not in (result.case_id, path, result.case)
            and not any(fnmatch.fnmatchcase(name, self.case) for name in (result.case_id, path, result.case))
        ):
            return False
        if self.exporter and not fnmatch.fnmatchcase(result.exporter, self.exporter):
            return False
        if self.dtype and not fnmatch.fnmatchcase(result_dtype(result), self.dtype):
            return False
        if self.opset and not _in_range(str(result.opset), self.opset):
            return False
        if self.op and (ops is None or not any(fnmatch.fnmatchcase(o, self.op) for o in ops)):
            return False
        if self.message and not fnmatch.fnmatchcase(normalize_message(result.message), self.message):
            return False
        return not (self.backend_versions and not _in_range(result.backend_version, self.backend_versions))

    def entry(self) -> dict[str, Any]:
        """The entry as a file holds it: the keys it was written with, so writing it back parses to itself."""
        entry: dict[str, Any] = {
            "backend": self.backend,
            "case": self.case,
            "outcome": [str(o) for o in self.outcomes],
            "reason": self.reason,
        }
        for key in ("link", "backend_versions", "opset", "exporter", "dtype", "op", "message", "finding"):
            if getattr(self, key):
                entry[key] = getattr(self, key)
        if self.flaky:
            entry["flaky"] = True
        return entry

    def to_dict(self) -> dict[str, Any]:
        """What a result's waiver records: the entry, with every optional key present, and its line."""
        return {**self.entry(), "link": self.link, "flaky": self.flaky, "line": self.line}


def _in_range(version: str, spec: str) -> bool:
    if spec.strip().isdigit():
        return version == spec.strip()
    try:
        return Version(version.split("+")[0]) in SpecifierSet(spec)
    except InvalidVersion:
        return False


def _entry_lines(text: str) -> list[int]:
    return [i + 1 for i, line in enumerate(text.splitlines()) if re.match(r"\s*\[\[\s*expectation\s*\]\]", line)]


def parse(text: str, source: str = "<expectations>") -> list[Expectation]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ExpectationError(f"{source}: not valid TOML: {exc}") from None
    unknown_top = set(data) - {"expectation"}
    if unknown_top:
        raise ExpectationError(
            f"{source}: unknown top-level key {sorted(unknown_top)[0]!r}; use [[expectation]] tables"
        )
    entries = data.get("expectation", [])
    lines = _entry_lines(text)
    out = []
    for i, entry in enumerate(entries):
        line = lines[i] if i < len(lines) else 0
        where = f"{source}:{line}"
        unknown = set(entry) - _KEYS
        if unknown:
            raise ExpectationError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(_KEYS))})")
        for key in _REQUIRED:
            if not entry.get(key):
                raise ExpectationError(f"{where}: missing {key!r}")
        for key in (
            "backend", "case", "reason", "link", "backend_versions", "exporter", "dtype", "message", "finding", "op",
        ):  # fmt: skip
            if key in entry and not isinstance(entry[key], str):
                raise ExpectationError(f"{where}: {key!r} must be a string")
        raw = entry["outcome"]
        names = [raw] if isinstance(raw, str) else raw
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ExpectationError(f"{where}: 'outcome' must be an outcome or a list of outcomes")
        outcomes = []
        for name in names:
            try:
                outcome = Outcome(name)
            except ValueError:
                outcome = None
            if outcome not in EXPECTABLE:
                allowed = ", ".join(sorted(str(o) for o in EXPECTABLE))
                raise ExpectationError(f"{where}: outcome {name!r} cannot be expected; use one of {allowed}")
            outcomes.append(outcome)
        link = entry.get("link", "")
        if link and not re.match(r"https?://", link):
            raise ExpectationError(f"{where}: 'link' must be an http(s) URL, got {link!r}")
        versions = entry.get("backend_versions", "")
        if versions:
            try:
                SpecifierSet(versions)
            except InvalidSpecifier:
                raise ExpectationError(f"{where}: 'backend_versions' is not a version range: {versions!r}") from None
        opset = entry.get("opset", "")
        if isinstance(opset, bool) or not isinstance(opset, (int, str)):
            raise ExpectationError(f"{where}: 'opset' must be an opset number or a range like '>=18'")
        opset = str(opset)
        if opset and not opset.isdigit():
            try:
                SpecifierSet(opset)
            except InvalidSpecifier:
                raise ExpectationError(f"{where}: 'opset' is not an opset or range: {opset!r}") from None
        flaky = entry.get("flaky", False)
        if not isinstance(flaky, bool):
            raise ExpectationError(f"{where}: 'flaky' must be true or false")
        out.append(
            Expectation(
                backend=entry["backend"],
                case=entry["case"],
                outcomes=tuple(outcomes),
                reason=entry["reason"],
                link=link,
                backend_versions=versions,
                opset=opset,
                exporter=entry.get("exporter", ""),
                dtype=entry.get("dtype", ""),
                message=entry.get("message", ""),
                finding=entry.get("finding", ""),
                flaky=flaky,
                op=entry.get("op", ""),
                line=line,
            )
        )
    return out


def load(path: Path | str) -> list[Expectation]:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ExpectationError(f"cannot read expectations file {path}: {exc.strerror}") from None
    return parse(text, str(path))


@dataclass(frozen=True)
class ExpectationSet:
    """Entries indexed by their exact case, and those for any case by their backend, so a result is checked
    against a few, not hundreds.

    Entries written per finding are mostly `case = "*"` (an op, or words, in any case); matching every result
    against all of them cost more than onnxruntime's own run of a small model.
    """

    entries: tuple[Expectation, ...]
    by_case: dict[str, tuple[int, ...]]
    #: Entries whose case is a glob, by their backend where it is one name; under "" where it is a glob.
    patterns: dict[str, tuple[int, ...]]

    @classmethod
    def of(cls, entries: Iterable[Expectation]) -> ExpectationSet:
        entries = tuple(entries)
        by_case: dict[str, list[int]] = {}
        patterns: dict[str, list[int]] = {}
        for i, e in enumerate(entries):
            if "*" in e.case or "?" in e.case:
                patterns.setdefault("" if any(c in e.backend for c in "*?[") else e.backend, []).append(i)
            else:  # ids hold brackets; without * or ? an entry names one case or instance exactly
                by_case.setdefault(e.case, []).append(i)
        return cls(entries, {k: tuple(v) for k, v in by_case.items()}, {k: tuple(v) for k, v in patterns.items()})

    def candidates(self, result: Result) -> list[Expectation]:
        """The entries that may match `result`, in file order: those of its case and its backend's globs."""
        keys = (result.case_id, f"{result.category}/{result.case}", result.case)
        found = {*self.patterns.get(result.backend, ()), *self.patterns.get("", ())}
        for key in keys:
            found.update(self.by_case.get(key, ()))
        return [self.entries[i] for i in sorted(found)]

    def matching(self, result: Result, ops: Collection[str] | None = None) -> list[Expectation]:
        return [e for e in self.candidates(result) if e.matches(result, ops)]


def apply(
    result: Result, expectations: Sequence[Expectation] | ExpectationSet, ops: Collection[str] | None = None
) -> Result:
    """Turn an expected failure into `xfail` and a stale expectation's pass into `xpass`.

    Of the entries that match, the one naming the actual outcome applies (a
    broad entry, all of a backend's float64 mismatches say, must not hide a
    narrower one for the same result). `ops`: the op types of the result's
    graph, for entries that name one.
    """
    if result.outcome is Outcome.SKIP:
        return result
    candidates = expectations.candidates(result) if isinstance(expectations, ExpectationSet) else expectations
    if result.outcome is Outcome.PASS:
        # A root-cause entry speaks of a way of failing, not of the instances it met: a pass of the same
        # case (or of another graph holding the op) is no news about it. `findings` says when it is fixed.
        matching = [e for e in candidates if not e.about_cause and e.matches(result, ops)]
        if not matching:
            return result
        flaky = next((e for e in matching if e.flaky), None)
        if flaky is not None:
            return replace(result, waiver={**flaky.to_dict(), "actual": str(result.outcome)})
        entry = matching[0]
        expected = "/".join(str(o) for o in entry.outcomes)
        message = f"expected {expected} ({entry.reason}) but it passed: the expectation is stale"
        return replace(result, outcome=Outcome.XPASS, message=message, waiver={**entry.to_dict(), "actual": "pass"})
    # The cheap test first: most entries of a backend are for another outcome.
    entry = next((e for e in candidates if result.outcome in e.outcomes and e.matches(result, ops)), None)
    if entry is None:
        return result
    waiver = {**entry.to_dict(), "actual": str(result.outcome)}
    return replace(result, outcome=Outcome.XFAIL, message=f"[{result.outcome}] {result.message}", waiver=waiver)


def actual_outcome(result: Result) -> Outcome:
    """What the backend really did, before an expectation turned it into xfail or xpass."""
    if result.outcome is Outcome.XPASS:
        return Outcome.PASS
    if result.outcome is Outcome.XFAIL and result.waiver:
        return Outcome(result.waiver["actual"])
    return result.outcome


def removable(entries: Sequence[Expectation], results: Iterable[Result]) -> list[Expectation]:
    """Entries the runs show can go: exercised, never failed as expected, and passed at least once.

    One `xpass` makes an entry suspect in one run; removal needs the evidence
    of all the runs given. Flaky entries are never removable (passing is their
    normal), nor are entries no result reached (another seed, another
    backend): absence is not evidence. Nor is a root-cause entry removable by
    a pass: that the case passed at another draw says nothing of its cause
    (`findings` says when a cause is fixed).
    """
    index = ExpectationSet.of(entries)
    confirmed: set[int] = set()
    passed: set[int] = set()
    for result in results:
        actual = actual_outcome(result)
        for entry in index.matching(result):
            if actual in entry.outcomes:
                confirmed.add(entry.line)
            elif actual is Outcome.PASS:
                passed.add(entry.line)
    return [e for e in entries if not e.flaky and not e.about_cause and e.line in passed and e.line not in confirmed]


def unmatched(
    entries: Sequence[Expectation], cases: Iterable[tuple[str, str]], backends: Iterable[str]
) -> list[tuple[Expectation, str]]:
    """Entries that can never apply, with why: their case matches no (path, name) or their backend no name.

    An instance id (`path[hash]`) counts as matching when its case exists: which
    instances a run draws depends on its seed.
    """
    known = [x for pair in cases for x in pair]
    names = list(backends)
    out = []
    for e in entries:
        base = e.case.split("[", 1)[0] if re.search(r"\[[0-9a-f]+\]$", e.case) else e.case
        if not any(x in (e.case, base) or fnmatch.fnmatchcase(x, e.case) for x in known):
            out.append((e, f"case {e.case!r} matches no case in the library"))
        elif not any(fnmatch.fnmatchcase(n, e.backend) for n in names):
            out.append((e, f"backend {e.backend!r} matches no installed backend"))
    return out


def remove(text: str, lines: Iterable[int]) -> str:
    """The file without the entries starting at `lines`; comments and other entries stay as written."""
    rows = text.splitlines(keepends=True)
    starts = _entry_lines(text)
    drop: set[int] = set()
    for start in set(lines):
        nxt = next((s for s in starts if s > start), len(rows) + 1)
        end = nxt - 1
        while end > start and (not rows[end - 1].strip() or rows[end - 1].lstrip().startswith("#")):
            end -= 1  # trailing blanks and the next entry's comments are not this entry's
        drop.update(range(start, end + 1))
        if end < len(rows) and not rows[end].strip():
            drop.add(end + 1)  # and one blank line after it
    return "".join(row for i, row in enumerate(rows, start=1) if i not in drop)


def dumps(entries: Iterable[Mapping[str, Any]], comment: str = "") -> str:
    """`[[expectation]]` tables as TOML, written by tomlkit: any string (control characters too) round-trips."""
    import tomlkit

    doc = tomlkit.document()
    if comment:  # a TOML comment may hold no control character but tab, and has no escapes
        doc.add(tomlkit.comment(re.sub(r"[\x00-\x08\x0a-\x1f\x7f]", lambda m: f"\\x{ord(m[0]):02x}", comment)))
    tables = tomlkit.aot()
    for entry in entries:
        table = tomlkit.table()
        for key, value in entry.items():
            table.add(key, value)
        tables.append(table)
    if len(tables):
        doc.add("expectation", tables)
    return tomlkit.dumps(doc)


def write(path: Path, text: str) -> None:
    """Replace `path` with `text` only once it parses as an expectations file: a bad write loses nothing.

    Written to a temporary file beside it, checked, then renamed over it.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        parse(Path(tmp).read_text(encoding="utf-8"), str(path))  # what reached the disk, named as the target
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def drafts(results: Iterable[Result]) -> list[dict[str, str]]:
    """New entries for unexpected failures, one per backend, case, exporter and outcome, to be triaged."""
    seen: set[tuple[str, str, str, str]] = set()
    out = []
    for r in results:
        if r.outcome not in EXPECTABLE or r.outcome is Outcome.UNSUPPORTED:
            continue
        key = (r.backend, r.case_id, r.exporter, str(r.outcome))
        if key in seen:
            continue
        seen.add(key)
        first = (r.message.splitlines() or [""])[0][:160]
        out.append(
            {
                "backend": r.backend,
                "case": r.case_id,
                "exporter": r.exporter,
                "outcome": str(r.outcome),
                "reason": f"{PLACEHOLDER}: {first}",
            }
        )
    return out
