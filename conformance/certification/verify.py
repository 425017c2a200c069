"""Verify a certification bundle: digests, coverage, profile hash, waivers, summary, and reruns.

Nothing in a bundle is executed or unpickled: members are read into memory
from the tar stream (never extracted), parsed as JSON or text only, and a
member whose path is absolute, climbs out with `..`, or is a link or a device
is refused. Reruns use artifacts from a local materialization that is
checked against the trusted profile's hashes, not anything from the bundle.
"""

from __future__ import annotations

import json
import math
import random
import re
import secrets
import tarfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..model import Metrics, Outcome
from .bundle import (
    ENVIRONMENT_JSON,
    MANIFEST_JSON,
    MEMBERS,
    PROFILE_JSON,
    RESULTS_JSONL,
    SUMMARY_JSON,
    SUMS,
    WAIVERS_JSON,
    Manifest,
    summarize,
)
from .profile import Profile, ProfileError, is_shipped, profile_hash, sha256

#: A bundle is JSON and text (the largest shipped profile's is under 1 MiB); nothing in it should come near
#: these sizes. They bound what a gzip bomb can make verify hold in memory: members are read whole.
MAX_MEMBER_BYTES = 32 * 1024 * 1024
MAX_TOTAL_BYTES = 128 * 1024 * 1024
_METRIC_KEYS = set(Metrics().to_dict())
#: Metrics compared on a rerun, with (absolute, relative) slack: backends may use threads and reorder sums.
_RERUN_SLACK = {
    "max_abs_error": (1e-7, 0.05),
    "max_rel_error": (1e-7, 0.05),
    "max_ulp": (2.0, 0.05),
    "fraction_off": (1e-9, 0.05),
    "special_mismatches": (0, 0.0),
    "elements": (0, 0.0),
}


@dataclass
class Verification:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    manifest: Manifest | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    reran: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def verdict(self, bundle: Path) -> str:
        m = self.manifest
        what = (
            f"backend {m.backend_name} {m.backend_version} on profile {m.profile_name} v{m.profile_version}"
            if m is not None
            else "backend ? ? on profile ? v?"
        )
        lines = []
        if self.ok:
            meets = self.summary.get("meets_profile")
            lines.append(
                f"VERIFIED: {bundle} is intact and consistent: {what} "
                f"{'MEETS' if meets else 'DOES NOT MEET'} the profile"
                + (f" ({self.reran} instances re-run and matched)" if self.reran else "")
            )
        else:
            lines.append(f"REJECTED: {bundle}: {len(self.problems)} problem(s) ({what})")
            lines.extend(f"  - {p}" for p in self.problems)
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


# --------------------------------------------------------------------------- reading safely


def _unsafe_name(name: str) -> str | None:
    """Why a member name may not be used, or None when it stays inside the bundle."""
    if not name or "\x00" in name:
        return "empty or NUL in the name"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    if "\\" in name:
        return "backslash in the path"
    parts = PurePosixPath(name).parts
    if ".." in parts:
        return "'..' climbs out of the bundle"
    return None


def read_members(path: Path, v: Verification) -> dict[str, bytes] | None:
    """Regular-file members by normalized name, read without extracting; problems recorded in `v`."""
    files: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for member in tar:
                why = _unsafe_name(member.name)
                if why:
                    v.problem(f"member {member.name!r} points outside the bundle ({why}); refused")
                    continue
                name = str(PurePosixPath(member.name))
                if member.issym() or member.islnk():
                    v.problem(f"member {name!r} is a link (to {member.linkname!r}); links are refused")
                    continue
                if member.isdir():
                    continue
                if not member.isfile():
                    v.problem(f"member {name!r} is not a regular file; refused")
                    continue
                if member.size > MAX_MEMBER_BYTES or total + member.size > MAX_TOTAL_BYTES:
                    v.problem(f"member {name!r} is too large ({member.size} bytes)")
                    return None
                if name in files:
                    v.problem(f"member {name!r} appears twice")
                    continue
                handle = tar.extractfile(member)
                if handle is None:
                    v.problem(f"member {name!r} cannot be read")
                    continue
                files[name] = handle.read()
                total += member.size
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        v.problem(f"{path} is not a readable tar.gz bundle: {type(exc).__name__}: {exc}")
        return None
    return files


def _json(files: Mapping[str, bytes], name: str, v: Verification) -> Any:
    if name not in files:
        v.problem(f"{name} is missing from the bundle")
        return None
    try:
        return json.loads(files[name].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        v.problem(f"{name} is not valid JSON: {exc}")
        return None


# --------------------------------------------------------------------------- checks


def check_digests(files: Mapping[str, bytes], v: Verification) -> None:
    if SUMS not in files:
        v.problem(f"{SUMS} is missing: no file can be checked")
        return
    try:
        text = files[SUMS].decode("utf-8")
    except UnicodeDecodeError:
        v.problem(f"{SUMS} is not text")
        return
    listed: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        match = re.fullmatch(r"([0-9a-f]{64}) [ *](.+)", line)
        if not match:
            v.problem(f"{SUMS} line {n} is malformed: {line[:80]!r}")
            continue
        listed[match.group(2)] = match.group(1)
    for name, digest in listed.items():
        if name not in files:
            v.problem(f"{name} is listed in {SUMS} but missing from the bundle")
        elif sha256(files[name]) != digest:
            v.problem(f"{name}: sha256 does not match {SUMS} (the file was changed after sealing)")
    for name in files:
        if name != SUMS and name not in listed:
            v.problem(f"{name} is in the bundle but not in {SUMS}")
    for name in MEMBERS:
        if name not in files:
            v.problem(f"{name} is missing from the bundle")


def trusted_profile(manifest: Manifest, bundled: Any, profile_ref: str | None, v: Verification) -> Profile | None:
    """The profile to judge against: the one given, else the shipped one of the manifest's name."""
    from .profile import load

    name, digest = manifest.profile_name, manifest.profile_sha256
    if isinstance(bundled, dict):
        try:
            if profile_hash(bundled) != digest:
                v.problem(f"{PROFILE_JSON} in the bundle does not hash to the manifest's profile sha256")
        except ValueError as exc:
            v.problem(f"{PROFILE_JSON} cannot be hashed: {exc}")
    if profile_ref is not None:
        try:
            trusted = load(profile_ref)
        except ProfileError as exc:
            v.problem(f"--profile: {exc}")
            return None
        source = f"the given profile {profile_ref}"
    elif is_shipped(name):
        trusted = load(name)
        source = f"the shipped profile {name!r}"
    else:
        v.problem(
            f"profile {name!r} is not shipped with this tool; pass --profile PATH to check against a copy you trust"
        )
        try:  # already rejected; the bundle's own profile still lets the checks below list what else is wrong
            return Profile.from_document(bundled, PROFILE_JSON)
        except ProfileError:
            return None
    if trusted.digest != digest:
        v.problem(
            f"profile hash {digest[:16]}… in the manifest is not that of {source} ({trusted.digest[:16]}…): "
            "the bundle was made with another or an altered profile"
        )
    if manifest.profile_version != trusted.version:
        v.problem(f"profile version {manifest.profile_version!r} in the manifest; {source} is v{trusted.version}")
    return trusted


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_results(
    files: Mapping[str, bytes], profile: Profile, manifest: Manifest, v: Verification
) -> list[dict[str, Any]] | None:
    if RESULTS_JSONL not in files:
        return None
    try:
        text = files[RESULTS_JSONL].decode("utf-8")
    except UnicodeDecodeError:
        v.problem(f"{RESULTS_JSONL} is not UTF-8 text")
        return None
    rows: list[dict[str, Any]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            v.problem(f"{RESULTS_JSONL} line {n} is not JSON: {exc}")
            return None
        if not isinstance(row, dict):
            v.problem(f"{RESULTS_JSONL} line {n} is not an object")
            return None
        rows.append(row)
    expected = [e.id for e in profile.instances]
    got = [r.get("id") for r in rows]
    if got != expected:
        got_set, expected_set = set(got), set(expected)
        missing = [i for i in expected if i not in got_set]
        extra = [i for i in got if i not in expected_set]
        if missing:
            v.problem(f"results lack {len(missing)} profile instance(s): {', '.join(map(str, missing[:5]))}")
        if extra:
            v.problem(f"results hold {len(extra)} instance(s) not in the profile: {', '.join(map(str, extra[:5]))}")
        if len(got) != len(set(got)):
            v.problem("results list an instance more than once")
        if not missing and not extra and len(got) == len(expected):
            first = next(i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b)
            v.problem(f"results are not in profile order (first at position {first}: {got[first]})")
        return None
    backend = manifest.backend_name
    valid = {str(o) for o in Outcome}
    for n, (row, entry) in enumerate(zip(rows, profile.instances, strict=True)):
        where = f"result {n} ({entry.id})"
        if row.get("outcome") not in valid:
            v.problem(f"{where}: outcome {row.get('outcome')!r} is not a valid outcome")
        if row.get("index") != n:
            v.problem(f"{where}: index {row.get('index')!r}, expected {n}")
        for key, value in (("case", entry.case), ("category", entry.category)):
            if row.get(key) != value:
                v.problem(f"{where}: {key} {row.get(key)!r}, the profile says {value!r}")
        if bool(row.get("must_pass")) != entry.must_pass:
            v.problem(f"{where}: must_pass {row.get('must_pass')!r}, the profile says {entry.must_pass!r}")
        if row.get("backend") != backend:
            v.problem(f"{where}: backend {row.get('backend')!r}, the manifest says {backend!r}")
        metrics = row.get("metrics")
        if not isinstance(metrics, dict) or set(metrics) != _METRIC_KEYS:
            v.problem(f"{where}: metrics are missing or malformed")
            continue
        for key in ("max_abs_error", "max_rel_error", "max_ulp", "fraction_off", "special_mismatches", "elements"):
            value = metrics[key]
            if not _number(value) or (isinstance(value, float) and math.isnan(value)) or value < 0:
                v.problem(f"{where}: metric {key} = {value!r} is not a non-negative number")
        if _number(metrics["fraction_off"]) and metrics["fraction_off"] > 1:
            v.problem(f"{where}: metric fraction_off = {metrics['fraction_off']!r} is above 1")
        if row.get("outcome") == str(Outcome.PASS) and (
            (_number(metrics["fraction_off"]) and metrics["fraction_off"] > 0)
            or (_number(metrics["special_mismatches"]) and metrics["special_mismatches"] > 0)
        ):
            v.problem(f"{where}: outcome pass but metrics say elements were off")
    return rows


def check_waivers(files: Mapping[str, bytes], rows: Sequence[Mapping[str, Any]] | None, v: Verification) -> list[Any]:
    """Waivers must parse as expectation entries and be the ones the results name."""
    from ..expectations import ExpectationError, dumps, parse

    data = _json(files, WAIVERS_JSON, v)
    if data is None:
        return []
    waivers = data.get("waivers") if isinstance(data, dict) else None
    if not isinstance(waivers, list):
        v.problem(f"{WAIVERS_JSON} holds no 'waivers' list")
        return []
    parsed = []
    keyed: set[tuple[Any, ...]] = set()
    for n, entry in enumerate(waivers):
        if not isinstance(entry, dict):
            v.problem(f"waiver {n} is not an object")
            continue
        body = {k: val for k, val in entry.items() if k != "line"}
        try:
            (expectation,) = parse(dumps([body]), f"waivers.json[{n}]")
        except (ExpectationError, ValueError) as exc:
            v.problem(f"waiver {n} is malformed: {exc}")
            continue
        if not expectation.link:
            v.notes.append(f"waiver {n} ({expectation.backend} {expectation.case}) has no link")
        parsed.append(expectation)
        keyed.add((expectation.backend, expectation.case, expectation.reason, entry.get("line")))
    for row in rows or ():
        waiver = row.get("waiver")
        outcome = row.get("outcome")
        if outcome in (str(Outcome.XFAIL), str(Outcome.XPASS)) and not isinstance(waiver, dict):
            v.problem(f"result {row.get('id')}: outcome {outcome} without the waiver that made it so")
            continue
        if isinstance(waiver, dict):
            key = (waiver.get("backend"), waiver.get("case"), waiver.get("reason"), waiver.get("line"))
            if key not in keyed:
                v.problem(f"result {row.get('id')}: its waiver ({waiver.get('case')!r}) is not in waivers.json")
    return parsed


def check_summary(
    files: Mapping[str, bytes], profile: Profile, rows: Sequence[Mapping[str, Any]] | None, v: Verification
) -> None:
    claimed = _json(files, SUMMARY_JSON, v)
    if claimed is None or rows is None:
        return
    recomputed = json.loads(json.dumps(summarize(profile, [str(r.get("outcome")) for r in rows])))
    v.summary = recomputed
    if claimed == recomputed:
        return
    if not isinstance(claimed, dict):
        v.problem("summary.json is not an object")
        return
    before = len(v.problems)
    for key in ("meets_profile", "overall"):
        if claimed.get(key) != recomputed.get(key):
            v.problem(f"summary.json: {key} does not match the results (recomputed: {recomputed.get(key)!r})")
    cats = claimed.get("categories") if isinstance(claimed.get("categories"), dict) else {}
    for name in sorted(set(cats) | set(recomputed["categories"])):
        if cats.get(name) != recomputed["categories"].get(name):
            v.problem(f"summary.json: category {name!r} does not match the results")
    if len(v.problems) == before:
        v.problem("summary.json does not match the summary recomputed from the results")


def check_environment(files: Mapping[str, bytes], manifest: Manifest, v: Verification) -> None:
    env = _json(files, ENVIRONMENT_JSON, v)
    if not isinstance(env, dict):
        return
    for key in ("os", "cpu", "python", "packages", "backend"):
        if key not in env:
            v.problem(f"environment.json lacks {key!r}")
    declared = env.get("backend") if isinstance(env.get("backend"), dict) else {}
    if (declared.get("name"), declared.get("version")) != (manifest.backend_name, manifest.backend_version):
        v.problem("environment.json names another backend or version than the manifest")


def check_manifest(manifest: Any, v: Verification) -> bool:
    if not isinstance(manifest, dict):
        return False
    for key in ("profile", "backend", "tool", "command"):
        if key not in manifest:
            v.problem(f"{MANIFEST_JSON} lacks {key!r}")
    profile = manifest.get("profile")
    if not isinstance(profile, dict) or not {"name", "version", "sha256"} <= set(profile):
        v.problem(f"{MANIFEST_JSON}: 'profile' must give name, version and sha256")
        return False
    if not isinstance(manifest.get("backend"), dict) or "name" not in manifest["backend"]:
        v.problem(f"{MANIFEST_JSON}: 'backend' must give a name and version")
        return False
    return True


def _close(key: str, a: Any, b: Any) -> bool:
    if not (_number(a) and _number(b)):
        return a == b
    if math.isinf(a) or math.isinf(b):
        return a == b
    absolute, relative = _RERUN_SLACK[key]
    return abs(a - b) <= absolute + relative * max(abs(a), abs(b))


def rerun(
    profile: Profile,
    rows: Sequence[Mapping[str, Any]],
    waivers: Sequence[Any],
    manifest: Manifest,
    count: int,
    v: Verification,
    *,
    materialized: Path | None,
    cache_dir: Path | None,
    seed: int | None,
    isolate: bool = True,
    log: Callable[[str], None] | None = None,
) -> None:
    """Re-run `count` sampled instances on the local backend; outcomes and metrics must match."""
    from ..backends import BackendError, backend_version, select_backends
    from .bundle import run_instances
    from .materialize import materialized_for

    say = log or (lambda _m: None)
    name = manifest.backend_name
    try:
        (backend,) = select_backends([name])
    except BackendError as exc:
        v.problem(f"--rerun: {exc}")
        return
    local = backend_version(backend)
    if local != manifest.backend_version:
        v.notes.append(f"rerun on {name} {local}; the bundle was made with {manifest.backend_version}")
    seed = secrets.randbelow(2**31) if seed is None else seed
    chosen = sorted(random.Random(seed).sample(range(len(rows)), min(count, len(rows))))
    say(f"re-running {len(chosen)} instance(s) on {name} {local} (sample seed {seed})")
    v.notes.append(f"rerun sample seed {seed}: instances {', '.join(str(i) for i in chosen)}")
    try:
        mat = materialized_for(profile, materialized, cache_dir, say)
    except ProfileError as exc:
        v.problem(f"--rerun: the profile's artifacts are unusable: {exc}")
        return
    records = run_instances(mat, chosen, backend, waivers, isolate=isolate)
    for rec in records:
        row = rows[rec.index]
        mine = rec.to_dict()
        if mine["outcome"] != row.get("outcome"):
            v.problem(f"rerun of {rec.entry.id}: outcome {mine['outcome']}, the bundle says {row.get('outcome')}")
            continue
        theirs = row.get("metrics") or {}
        for key in _RERUN_SLACK:
            if not _close(key, mine["metrics"][key], theirs.get(key)):
                v.problem(
                    f"rerun of {rec.entry.id}: metric {key} = {mine['metrics'][key]!r}, "
                    f"the bundle says {theirs.get(key)!r}"
                )
    v.reran = len(records)


def verify(
    bundle: Path,
    *,
    profile: str | None = None,
    rerun_count: int = 0,
    materialized: Path | None = None,
    cache_dir: Path | None = None,
    seed: int | None = None,
    isolate: bool = True,
    log: Callable[[str], None] | None = None,
) -> Verification:
    v = Verification()
    files = read_members(Path(bundle), v)
    if files is None:
        return v
    check_digests(files, v)
    document = _json(files, MANIFEST_JSON, v)
    if not check_manifest(document, v):
        return v
    manifest = v.manifest = Manifest.from_dict(document)
    bundled = _json(files, PROFILE_JSON, v)
    trusted = trusted_profile(manifest, bundled, profile, v)
    if trusted is None:
        return v
    rows = check_results(files, trusted, manifest, v)
    waivers = check_waivers(files, rows, v)
    check_summary(files, trusted, rows, v)
    check_environment(files, manifest, v)
    if rerun_count > 0:
        if rows is None or v.problems:
            v.notes.append("rerun skipped: the bundle already failed the checks above")
        else:
            rerun(
                trusted,
                rows,
                waivers,
                manifest,
                rerun_count,
                v,
                materialized=materialized,
                cache_dir=cache_dir,
                seed=seed,
                isolate=isolate,
                log=log,
            )
    return v
