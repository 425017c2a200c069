"""Materializing: a profile's instances written out in backend-test layout, and read back checked.

A materialized folder is what a vendor certifies from: every file is checked
against the profile's hashes when it is written and again when it is opened,
and running it needs only onnx, numpy, this package and a backend (no torch).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import layout
from ..layout import DATA_SET, MANIFEST, MODEL
from ..model import Case, CaseInstance, OpClass, Prebuilt, Tolerance, Unspecified, is_float
from .freeze import freeze_instance
from .profile import PROFILE_FILE, Profile, ProfileEntry, ProfileError, read, sha256


def _slug(index: int, instance_id: str) -> str:
    return f"{index:04d}-" + re.sub(r"[^A-Za-z0-9._-]+", "_", instance_id).strip("_")[:100]


def materialize(
    profile: Profile,
    directory: Path,
    *,
    cache_dir: Path | None = None,
    library: Sequence[Case] | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Write every instance in backend-test layout, plus the profile and a manifest.

    Artifacts come from the cache (exported on a miss, which needs torch);
    every file is checked against the profile's hashes before it is written.
    """
    from ..export import ArtifactCache, default_cache_dir
    from ..generate import discover_cases, draw_instances

    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise ProfileError(f"{directory} exists and is not empty; materialize into a new folder")
    say = log or (lambda _msg: None)
    root = Path(cache_dir or default_cache_dir())
    by_path = {c.path: c for c in (discover_cases(root) if library is None else library)}
    if not by_path:
        raise ProfileError(
            "no case is installed (the built-in pack needs torch): materialize on a machine with torch, "
            "or certify from a materialized folder with --materialized DIR"
        )
    cache = ArtifactCache(root)
    drawn: dict[tuple[str, int, bool], dict[str, CaseInstance]] = {}
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        rows = []
        total = len(profile.instances)
        for index, entry in enumerate(profile.instances):
            case = by_path.get(entry.case)
            if case is None:
                raise ProfileError(f"case {entry.case!r} of instance {entry.id} is not in the installed library")
            key = (case.path, entry.seed, entry.special_values)
            if key not in drawn:
                found = draw_instances(case, seed=key[1], max_examples=profile.max_examples, special_values=key[2])
                drawn[key] = {i.id: i for i in found}
            instance = drawn[key].get(entry.id)
            if instance is None:
                raise ProfileError(f"instance {entry.id} no longer draws from the library (the case changed)")
            _entry, files, why = freeze_instance(instance, entry.exporter, entry.opset, cache)
            if not files:
                raise ProfileError(f"instance {entry.id} cannot be built: {why}")
            expected = entry.files()
            if set(files) != set(expected):
                raise ProfileError(f"instance {entry.id}: files {sorted(files)} differ from the profile's")
            rel = _slug(index, entry.id)
            for name, data in files.items():
                if sha256(data) != expected[name]:
                    raise ProfileError(
                        f"instance {entry.id}: {name} has sha256 {sha256(data)[:16]}…, the profile says "
                        f"{expected[name][:16]}… (a different torch, exporter or case source?)"
                    )
                target = tmp / rel / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            rows.append({"id": entry.id, "dir": rel})
            say(f"[{index + 1}/{total}] {entry.id}")
        (tmp / PROFILE_FILE).write_text(profile.dumps())
        manifest = {
            "profile": profile.name,
            "version": profile.version,
            "profile_sha256": profile.digest,
            "layout": f"{layout.DESCRIPTION} (the expected outputs)",
            "instances": rows,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        if directory.exists():
            directory.rmdir()
        os.replace(tmp, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return directory


@dataclass(frozen=True)
class Materialized:
    profile: Profile
    directory: Path
    #: Per profile instance, in profile order: its folder.
    folders: tuple[Path, ...]


def open_materialized(directory: Path, expect: str | None = None) -> Materialized:
    """A materialized profile, every file checked against the profile's hashes.

    `expect` is the hash of the profile the caller asked for: the folder must hold that one.
    """
    directory = Path(directory)
    profile = read(directory / PROFILE_FILE) if (directory / PROFILE_FILE).is_file() else None
    if profile is None:
        raise ProfileError(f"{directory} is not a materialized profile: no {PROFILE_FILE}")
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except OSError as exc:
        raise ProfileError(f"{directory} is not a materialized profile: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise ProfileError(f"{directory}: unreadable JSON: {type(exc).__name__}: {exc}") from None
    if expect is not None and profile.digest != expect:
        raise ProfileError(
            f"{directory} holds profile {profile.label} ({profile.digest[:12]}), not the one asked for ({expect[:12]})"
        )
    rows = manifest.get("instances", []) if isinstance(manifest, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ProfileError(f"{directory}/{MANIFEST} holds no list of instance folders")
    if [r.get("id") for r in rows] != [e.id for e in profile.instances]:
        raise ProfileError(f"{directory}/{MANIFEST} does not list the profile's instances in order")
    folders = []
    root = directory.resolve()
    for entry, row in zip(profile.instances, rows, strict=True):
        folder = (directory / str(row.get("dir", ""))).resolve()
        if root not in folder.parents:
            raise ProfileError(f"{directory}/{MANIFEST}: folder {row.get('dir')!r} is outside the profile folder")
        for name, digest_expected in entry.files().items():
            path = folder / name
            try:
                data = path.read_bytes()
            except OSError:
                raise ProfileError(f"{path} is missing") from None
            if sha256(data) != digest_expected:
                raise ProfileError(f"{path}: sha256 differs from the profile's ({entry.id})")
        folders.append(folder)
    return Materialized(profile, directory, tuple(folders))


def materialized_for(
    profile: Profile, directory: Path | None, cache_dir: Path | None, log: Callable[[str], None]
) -> Materialized:
    """The given materialized folder (checked against the profile), or one materialized into the cache."""
    from ..export import default_cache_dir

    if directory is not None:
        return open_materialized(directory, expect=profile.digest)
    root = Path(cache_dir or default_cache_dir())
    target = root / "profiles" / f"{profile.name}-{profile.digest[:16]}"
    if target.exists():
        try:
            return open_materialized(target, expect=profile.digest)
        except ProfileError as exc:
            log(f"cached materialization unusable ({exc}); rebuilding")
            shutil.rmtree(target, ignore_errors=True)
    log(f"materializing profile {profile.name} into {target} (needs torch on a cache miss)")
    materialize(profile, target, cache_dir=root, log=log)
    return open_materialized(target, expect=profile.digest)


def prebuilt_case(entry: ProfileEntry, folder: Path) -> Case:
    """A profile instance as a prebuilt case: judged against its expected outputs with its tolerances."""
    from ..export import parse_tensor

    model = (folder / MODEL).read_bytes()
    inputs = tuple(
        parse_tensor((folder / DATA_SET / layout.input_file(i)).read_bytes()) for i in range(len(entry.inputs))
    )
    outputs = tuple(
        parse_tensor((folder / DATA_SET / layout.output_file(i)).read_bytes()) for i in range(len(entry.outputs))
    )
    floating = [o for o, y in zip(entry.outputs, outputs, strict=True) if is_float(y.dtype)]
    # One tolerance per case: the loosest of its floating outputs (integer outputs compare exactly anyway).
    tolerance = (
        Tolerance(max(float(o.rtol or 0) for o in floating), max(float(o.atol or 0) for o in floating))
        if floating
        else None
    )
    category, _, name = entry.case.rpartition("/")
    item = Prebuilt(model, inputs, outputs, label=entry.id)
    try:
        op_class = OpClass(entry.op_class)
    except ValueError:
        op_class = OpClass.ELEMENTWISE
    return Case(
        name=name,
        category=category or entry.category,
        draw=lambda _d: None,
        op_class=op_class,
        tolerance=tolerance,
        unspecified=() if entry.check_signed_zero else (Unspecified.SIGNED_ZERO,),
        prebuilt=lambda: [item],
    )
