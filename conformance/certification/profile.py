"""Profiles: named, versioned, frozen lists of case instances, the unit of certification.

A profile pins every instance it holds by content: the sha256 of `model.onnx`,
of each input and of each expected output, as they are written in ONNX's
backend-test layout. The JSON document is what is hashed and shipped; a
`Profile` is its checked, typed reading, so nothing downstream indexes into
a dict that a hand edit could have broken.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import layout
from ..layout import MODEL

PROFILE_FORMAT = 1
PROFILES_DIR = Path(__file__).resolve().parent.parent / "data" / "profiles"
PROFILE_FILE = "profile.json"
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]*"


class ProfileError(ValueError):
    """A profile (or a materialized one) is missing, malformed or does not match its hashes."""


def canonical_json(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def profile_hash(document: Mapping[str, Any]) -> str:
    """sha256 of the document's canonical JSON: formatting and key order do not change it."""
    return hashlib.sha256(canonical_json(document)).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def valid_name(name: Any) -> bool:
    return isinstance(name, str) and re.fullmatch(NAME_PATTERN, name) is not None


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class TensorEntry:
    """One input or expected output of an instance, pinned by the sha256 of its TensorProto file."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    sha256: str
    #: The tolerance an expected output is judged with (None for inputs).
    rtol: float | None = None
    atol: float | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TensorEntry:
        return cls(str(d.get("name", "")), d["dtype"], tuple(d["shape"]), d["sha256"], d.get("rtol"), d.get("atol"))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "dtype": self.dtype, "shape": list(self.shape), "sha256": self.sha256}
        if self.rtol is not None:
            out["rtol"], out["atol"] = self.rtol, self.atol
        return out


@dataclass(frozen=True)
class ProfileEntry:
    """One frozen instance: where it comes from, how it is judged, and the hashes of its files."""

    id: str
    case: str
    category: str
    exporter: str
    opset: int
    must_pass: bool
    oracle: str
    model_sha256: str
    inputs: tuple[TensorEntry, ...]
    outputs: tuple[TensorEntry, ...]
    seed: int = 0
    special_values: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)
    op_class: str = "elementwise"
    check_signed_zero: bool = True
    oracle_agreement: str = ""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ProfileEntry:
        return cls(
            id=d["id"],
            case=d["case"],
            category=d["category"],
            exporter=d["exporter"],
            opset=d["opset"],
            must_pass=d["must_pass"],
            oracle=d["oracle"],
            model_sha256=d["model"]["sha256"],
            inputs=tuple(TensorEntry.from_dict(t) for t in d["inputs"]),
            outputs=tuple(TensorEntry.from_dict(t) for t in d["outputs"]),
            seed=int(d.get("seed", 0)),
            special_values=bool(d.get("special_values", False)),
            params=dict(d.get("params", {})),
            op_class=str(d.get("op_class", "elementwise")),
            check_signed_zero=bool(d.get("check_signed_zero", True)),
            oracle_agreement=str(d.get("oracle_agreement", "")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "case": self.case,
            "category": self.category,
            "seed": self.seed,
            "special_values": self.special_values,
            "exporter": self.exporter,
            "opset": self.opset,
            "params": dict(self.params),
            "must_pass": self.must_pass,
            "op_class": self.op_class,
            "check_signed_zero": self.check_signed_zero,
            "oracle": self.oracle,
            "oracle_agreement": self.oracle_agreement,
            "model": {"sha256": self.model_sha256},
            "inputs": [t.to_dict() for t in self.inputs],
            "outputs": [t.to_dict() for t in self.outputs],
        }

    def files(self) -> dict[str, str]:
        """Every file of the instance's backend-test folder, by relative path, with its sha256."""
        out = {MODEL: self.model_sha256}
        out.update({layout.input_path(i): x.sha256 for i, x in enumerate(self.inputs)})
        out.update({layout.output_path(i): y.sha256 for i, y in enumerate(self.outputs)})
        return out


@dataclass(frozen=True)
class Profile:
    """A checked profile. `document` is the JSON it was read from or will be written as: the hash covers it."""

    name: str
    version: int
    description: str
    overall_min_pass_rate: float
    category_min_pass_rates: Mapping[str, float]
    instances: tuple[ProfileEntry, ...]
    #: How the instances were drawn (`profile freeze`'s options); materializing draws them the same way.
    max_examples: int
    document: Mapping[str, Any]
    digest: str

    @classmethod
    def from_document(cls, document: Any, source: str = "<profile>") -> Profile:
        validate(document, source)
        thresholds = document["thresholds"]
        selection = document.get("selection")
        draws = selection.get("max_examples", 1) if isinstance(selection, dict) else 1
        return cls(
            name=document["name"],
            version=document["version"],
            description=str(document.get("description", "")),
            overall_min_pass_rate=float(thresholds["overall"]["min_pass_rate"]),
            category_min_pass_rates={c: float(t["min_pass_rate"]) for c, t in thresholds["categories"].items()},
            instances=tuple(ProfileEntry.from_dict(e) for e in document["instances"]),
            max_examples=int(draws) if isinstance(draws, int) and not isinstance(draws, bool) and draws > 0 else 1,
            document=document,
            digest=profile_hash(document),
        )

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "sha256": self.digest,
            "instances": len(self.instances),
            "must_pass": sum(1 for e in self.instances if e.must_pass),
            "categories": dict(sorted(Counter(e.category for e in self.instances).items())),
            "description": self.description,
        }

    def dumps(self) -> str:
        return dumps(self.document)


# --------------------------------------------------------------------------- checking a document


_ENTRY_KEYS = {"id", "case", "category", "exporter", "opset", "must_pass", "model", "inputs", "outputs", "oracle"}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value))


def _is_rate(value: Any) -> bool:
    return _is_number(value) and 0 <= value <= 1


def _is_digest(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) is not None


def _check_tensor(t: Any, kind: str) -> str | None:
    """Why a listed input or output is malformed, or None."""
    if not isinstance(t, dict):
        return "is not an object"
    if not _is_digest(t.get("sha256")):
        return "has no sha256"
    if not isinstance(t.get("name", ""), str) or not isinstance(t.get("dtype"), str):
        return "needs a string name and dtype"
    shape = t.get("shape")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        return "needs a shape of whole numbers"
    if kind == "outputs" and not (
        _is_number(t.get("rtol")) and _is_number(t.get("atol")) and t["rtol"] >= 0 <= t["atol"]
    ):
        return "needs rtol and atol, finite and 0 or more"
    return None


def _check_entry(entry: dict[str, Any]) -> str | None:
    """Why a profile instance is malformed, or None: everything `ProfileEntry` reads is checked here."""
    if not isinstance(entry["id"], str) or not entry["id"]:
        return "'id' must be a non-empty string"
    for key in ("case", "category", "exporter", "oracle"):
        if not isinstance(entry[key], str):
            return f"{key!r} must be a string"
    if not isinstance(entry["opset"], int) or isinstance(entry["opset"], bool):
        return "'opset' must be a whole number"
    if not isinstance(entry["must_pass"], bool):
        return "'must_pass' must be true or false"
    if not isinstance(entry["model"], dict) or not _is_digest(entry["model"].get("sha256")):
        return "'model' must hold the model's sha256"
    for key in ("inputs", "outputs"):
        if not isinstance(entry[key], list):
            return f"{key!r} must be a list"
        for i, t in enumerate(entry[key]):
            why = _check_tensor(t, key)
            if why:
                return f"{key}[{i}] {why}"
    for key, kind in (
        ("params", dict),
        ("op_class", str),
        ("check_signed_zero", bool),
        ("special_values", bool),
        ("oracle_agreement", str),
    ):
        if key in entry and not isinstance(entry[key], kind):
            return f"{key!r} must be a {kind.__name__}"
    if "seed" in entry and (not isinstance(entry["seed"], int) or isinstance(entry["seed"], bool)):
        return "'seed' must be a whole number"
    return None


def validate(document: Any, source: str = "<profile>") -> None:
    """Check a parsed profile document's shape, all of it that is read later; the message names what is wrong.

    A profile comes from a file anyone can edit: a malformed one must stop
    here with a `ProfileError`, not as a KeyError halfway through a certification.
    """
    if not isinstance(document, dict):
        raise ProfileError(f"{source}: a profile is a JSON object")
    try:  # a profile is hashed through its canonical JSON: what cannot be written there cannot be certified
        canonical_json(document)
    except (ValueError, TypeError) as exc:
        raise ProfileError(f"{source}: holds a value canonical JSON cannot hold ({exc})") from None
    if document.get("format") != PROFILE_FORMAT:
        raise ProfileError(f"{source}: profile format {document.get('format')!r}, this tool reads {PROFILE_FORMAT}")
    for key in ("name", "version", "instances", "thresholds"):
        if key not in document:
            raise ProfileError(f"{source}: missing {key!r}")
    if not valid_name(document["name"]):
        raise ProfileError(f"{source}: 'name' must be letters, digits, '.', '_' and '-'")
    if not isinstance(document["version"], int) or isinstance(document["version"], bool):
        raise ProfileError(f"{source}: 'version' must be a whole number")
    thresholds = document["thresholds"]
    overall = thresholds.get("overall") if isinstance(thresholds, dict) else None
    categories = thresholds.get("categories") if isinstance(thresholds, dict) else None
    if not isinstance(overall, dict) or not _is_rate(overall.get("min_pass_rate")):
        raise ProfileError(f"{source}: 'thresholds.overall.min_pass_rate' must be a rate from 0 to 1")
    if not isinstance(categories, dict) or not all(
        isinstance(c, dict) and _is_rate(c.get("min_pass_rate")) for c in categories.values()
    ):
        raise ProfileError(f"{source}: 'thresholds.categories' must map categories to a min_pass_rate from 0 to 1")
    instances = document["instances"]
    if not isinstance(instances, list) or not instances:
        raise ProfileError(f"{source}: 'instances' must be a non-empty list")
    seen: set[str] = set()
    for n, entry in enumerate(instances):
        if not isinstance(entry, dict) or not _ENTRY_KEYS <= set(entry):
            missing = sorted(_ENTRY_KEYS - set(entry)) if isinstance(entry, dict) else ["everything"]
            raise ProfileError(f"{source}: instance {n} lacks {', '.join(missing)}")
        why = _check_entry(entry)
        if why:
            raise ProfileError(f"{source}: instance {n}: {why}")
        if entry["id"] in seen:
            raise ProfileError(f"{source}: instance {entry['id']!r} is listed twice")
        if entry["category"] not in categories:
            raise ProfileError(f"{source}: instance {n}: category {entry['category']!r} has no threshold")
        seen.add(entry["id"])


# --------------------------------------------------------------------------- files


def dumps(document: Mapping[str, Any]) -> str:
    """Readable and diffable: the header indented, one line per instance."""
    head = {k: v for k, v in document.items() if k not in ("instances", "excluded")}
    lines = json.dumps(head, indent=1, ensure_ascii=False).rstrip("}").rstrip().rstrip("\n")
    parts = [lines + ","]
    for key in ("instances", "excluded"):
        items = document.get(key, [])
        body = ",\n".join("  " + json.dumps(x, ensure_ascii=False, sort_keys=True) for x in items)
        parts.append(f' "{key}": [\n{body}\n ]' if items else f' "{key}": []')
    return parts[0] + "\n" + ",\n".join(parts[1:]) + "\n}\n"


def save(profile: Profile, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = profile.dumps()
    if profile_hash(json.loads(text)) != profile.digest:
        raise ProfileError("internal error: the written profile does not read back the same")
    path.write_text(text)
    return path


def shipped() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.json"))


def is_shipped(name: str) -> bool:
    return valid_name(name) and (PROFILES_DIR / f"{name}.json").exists()


def read(path: Path) -> Profile:
    """A profile file, checked; every way it can be unreadable is a `ProfileError`."""
    try:
        document = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ProfileError(f"cannot read profile {path}: {exc.strerror}") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ProfileError(f"{path}: not valid JSON: {type(exc).__name__}: {exc}") from None
    return Profile.from_document(document, str(path))


def load(ref: str | Path) -> Profile:
    """A profile by shipped name or by path."""
    path = Path(ref)
    if not (path.suffix == ".json" or path.exists()):
        path = PROFILES_DIR / f"{ref}.json"
        if not path.exists():
            raise ProfileError(f"no shipped profile {str(ref)!r}; shipped: {', '.join(shipped()) or 'none'}")
    return read(path)
