"""Certification end to end: freeze a small profile, materialize it, certify, verify, tamper.

The profile is frozen here from three cases (the shipped ones are far larger);
the bundle is made once per module and every tampered copy is built from it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import venv
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.certification import freeze, profile
from conformance.certification.bundle import MEMBERS, SUMS
from conformance.certification.materialize import open_materialized
from conformance.certification.profile import sha256
from conformance.certification.verify import verify

from .conftest import conformance

CASES = "relu,add,matmul"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("certify")


@pytest.fixture(scope="module")
def profile_path(work: Path) -> Path:
    out = work / "small.json"
    proc = conformance(
        "profile", "freeze", "small", "--cases", CASES, "--max-examples", "1", "--must-pass", "relu",
        "--out", str(out), "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def materialized(work: Path, profile_path: Path) -> Path:
    target = work / "materialized"
    proc = conformance("profile", "materialize", str(profile_path), str(target), "--quiet")
    assert proc.returncode == 0, proc.stderr
    return target


@pytest.fixture(scope="module")
def bundle(work: Path, profile_path: Path, materialized: Path) -> Path:
    out = work / "bundle.tar.gz"
    proc = conformance(
        "certify", "--backend", "onnxruntime", "--profile", str(profile_path),
        "--materialized", str(materialized), "--out", str(out), "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "MEETS profile small" in proc.stdout, proc.stdout
    return out


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def _write(path: Path, files: dict[str, bytes], *, reseal: bool = False, extra: Callable[[tarfile.TarFile], None] | None = None) -> Path:  # fmt: skip
    if reseal:
        body = {k: v for k, v in files.items() if k != SUMS}
        files = {**body, SUMS: "".join(f"{sha256(v)}  {k}\n" for k, v in body.items()).encode()}
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if extra is not None:
            extra(tar)
    return path


def _problems(bundle: Path, profile_path: Path, **kw: object) -> list[str]:
    result = verify(bundle, profile=str(profile_path), **kw)  # type: ignore[arg-type]
    assert not result.ok, f"verify accepted a tampered bundle: {result.notes}"
    return result.problems


def test_profile_pins_every_file_by_hash(profile_path: Path, materialized: Path) -> None:
    loaded = profile.load(profile_path)
    assert [e.case for e in loaded.instances] == ["activation/relu", "elementwise/add", "linalg/matmul"]
    for entry in loaded.instances:
        assert entry.oracle in ("truth", "torch", "spec")
        assert all(len(x.sha256) == 64 for x in (*entry.inputs, *entry.outputs)) and len(entry.model_sha256) == 64
        assert all(y.rtol is not None and y.atol is not None for y in entry.outputs)
    assert [e.must_pass for e in loaded.instances] == [True, False, False]
    # The typed reading writes back the document it was read from: the hash covers exactly that.
    assert [e.to_dict() for e in loaded.instances] == loaded.document["instances"]
    opened = open_materialized(materialized, expect=loaded.digest)
    assert len(opened.folders) == 3
    assert (opened.folders[0] / "model.onnx").exists() and (opened.folders[0] / "test_data_set_0/output_0.pb").exists()


def test_certified_bundle_verifies_with_rerun(bundle: Path, profile_path: Path, materialized: Path) -> None:
    files = _members(bundle)
    assert set(files) == {*MEMBERS, SUMS}
    manifest = json.loads(files["manifest.json"])
    assert manifest["profile"]["name"] == "small" and manifest["backend"]["name"] == "onnxruntime"
    assert manifest["tool"]["git"] == "unknown" or len(manifest["tool"]["git"]["commit"]) == 40
    rows = [json.loads(line) for line in files["results.jsonl"].decode().splitlines()]
    assert [r["outcome"] for r in rows] == ["pass"] * 3 and all("max_ulp" in r["metrics"] for r in rows)
    summary = json.loads(files["summary.json"])
    assert summary["meets_profile"] and summary["overall"]["pass_rate"] == 1.0
    proc = conformance(
        "verify", str(bundle), "--profile", str(profile_path), "--rerun", "5", "--materialized", str(materialized)
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("VERIFIED") and "3 instances re-run and matched" in proc.stdout


@pytest.mark.parametrize("member", [*MEMBERS, SUMS])
def test_a_flipped_byte_in_any_file_is_named(bundle: Path, profile_path: Path, tmp_path: Path, member: str) -> None:
    files = _members(bundle)
    data = bytearray(files[member])
    at = len(data) // 2
    data[at] = ord("0") if data[at] != ord("0") else ord("1")  # stays text, usually stays JSON
    files[member] = bytes(data)
    problems = _problems(_write(tmp_path / "t.tar.gz", files), profile_path)
    assert any(member in p for p in problems), problems


def test_a_dropped_result_is_named_even_when_resealed(bundle: Path, profile_path: Path, tmp_path: Path) -> None:
    files = _members(bundle)
    lines = files["results.jsonl"].decode().splitlines(keepends=True)
    dropped = json.loads(lines[1])["id"]
    files["results.jsonl"] = "".join(lines[:1] + lines[2:]).encode()
    assert any("results.jsonl: sha256" in p for p in _problems(_write(tmp_path / "a.tar.gz", files), profile_path))
    problems = _problems(_write(tmp_path / "b.tar.gz", files, reseal=True), profile_path)
    assert any("results lack 1 profile instance" in p and dropped in p for p in problems), problems


def test_an_edited_metric_is_named_by_digest_and_by_rerun(
    bundle: Path, profile_path: Path, materialized: Path, tmp_path: Path
) -> None:
    files = _members(bundle)
    rows = [json.loads(line) for line in files["results.jsonl"].decode().splitlines()]
    rows[2]["metrics"]["max_abs_error"] = 0.25
    files["results.jsonl"] = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows).encode()
    assert any("results.jsonl: sha256" in p for p in _problems(_write(tmp_path / "a.tar.gz", files), profile_path))
    # Resealed, only a rerun can tell: the metric no longer matches the backend's.
    resealed = _write(tmp_path / "b.tar.gz", files, reseal=True)
    problems = _problems(resealed, profile_path, rerun_count=3, materialized=materialized, seed=0, isolate=False)
    assert any(rows[2]["id"] in p and "max_abs_error" in p for p in problems), problems


def test_an_edited_summary_or_profile_hash_is_named(bundle: Path, profile_path: Path, tmp_path: Path) -> None:
    files = _members(bundle)
    summary = json.loads(files["summary.json"])
    summary["categories"]["linalg"]["pass_rate"] = 0.5
    problems = _problems(_write(tmp_path / "s.tar.gz", {**files, "summary.json": json.dumps(summary).encode()}, reseal=True), profile_path)  # fmt: skip
    assert any("category 'linalg'" in p for p in problems), problems
    manifest = json.loads(files["manifest.json"])
    manifest["profile"]["sha256"] = "0" * 64
    problems = _problems(_write(tmp_path / "m.tar.gz", {**files, "manifest.json": json.dumps(manifest).encode()}, reseal=True), profile_path)  # fmt: skip
    assert any("profile hash" in p for p in problems), problems


def _escaping(kind: str) -> Callable[[tarfile.TarFile], None]:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo({"dotdot": "logs/../../evil.json", "absolute": "/tmp/evil.json"}.get(kind, "logs/x"))
        if kind == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
        else:
            info.size = 2
            tar.addfile(info, io.BytesIO(b"{}"))

    return add


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_a_member_path_outside_the_bundle_is_refused(
    bundle: Path, profile_path: Path, tmp_path: Path, kind: str
) -> None:
    bad = _write(tmp_path / "p.tar.gz", _members(bundle), extra=_escaping(kind))
    problems = _problems(bad, profile_path)
    expected = "is a link" if kind == "symlink" else "points outside the bundle"
    assert any(expected in p for p in problems), problems
    assert not (tmp_path / "evil.json").exists() and not Path("/tmp/evil.json").exists()


class _Zeros(io.RawIOBase):
    """`size` zero bytes streamed, never held: a member that compresses a thousandfold."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def _bomb(path: Path, files: dict[str, bytes], member_size: int, members: int) -> Path:
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for i in range(members):
            info = tarfile.TarInfo(f"logs/zeros_{i}.bin")
            info.size = member_size
            tar.addfile(info, io.BufferedReader(_Zeros(member_size)))
    return path


def test_hard_links_duplicates_and_listing_gaps_are_each_refused_with_the_reason(
    bundle: Path, profile_path: Path, tmp_path: Path
) -> None:
    files = _members(bundle)

    def hardlink(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("logs/passwd")
        info.type, info.linkname = tarfile.LNKTYPE, "/etc/passwd"
        tar.addfile(info)

    def duplicate(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("summary.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))

    cases = {
        "hardlink": (_write(tmp_path / "h.tar.gz", files, extra=hardlink), "is a link"),
        "duplicate": (_write(tmp_path / "d.tar.gz", files, extra=duplicate), "'summary.json' appears twice"),
        "extra": (_write(tmp_path / "e.tar.gz", {**files, "logs/extra.txt": b"hi"}), "logs/extra.txt is in the bundle but not in SHA256SUMS"),
        "missing": (_write(tmp_path / "m.tar.gz", {k: v for k, v in files.items() if k != "summary.json"}), "summary.json is listed in SHA256SUMS but missing"),
    }  # fmt: skip
    for kind, (path, expected) in cases.items():
        problems = _problems(path, profile_path)
        assert any(expected in p for p in problems), (kind, problems)


def test_an_oversized_member_and_a_gzip_bomb_are_refused_before_they_are_read(
    bundle: Path, profile_path: Path, tmp_path: Path
) -> None:
    from conformance.certification import verify as verify_module

    files = _members(bundle)
    big = _bomb(tmp_path / "big.tar.gz", files, verify_module.MAX_MEMBER_BYTES + 1, 1)
    assert big.stat().st_size < 2 * 1024 * 1024, "the test bundle should be small on disk"
    problems = _problems(big, profile_path)
    assert any("zeros_0.bin' is too large" in p for p in problems), problems
    # Many members each under the limit, together over the total: the bomb stops at the total.
    many = verify_module.MAX_TOTAL_BYTES // verify_module.MAX_MEMBER_BYTES + 1
    bomb = _bomb(tmp_path / "bomb.tar.gz", files, verify_module.MAX_MEMBER_BYTES // 4, many * 4)
    problems = _problems(bomb, profile_path)
    assert any("is too large" in p for p in problems), problems


def _torchless_venv(root: Path) -> Path:
    """A real virtual environment holding only what a vendor needs: no torch in it at all.

    Packages are linked from this environment's site-packages (no network, no
    install step), onnx-conformance through its editable-install hook.
    """
    venv.EnvBuilder(with_pip=False, symlinks=True).create(root)
    python = root / "bin" / "python"
    target = Path(
        subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip()
    )  # fmt: skip
    source = Path(next(p for p in sys.path if p.endswith("site-packages") and Path(p, "onnx").exists()))
    wanted = {
        "numpy", "onnx", "google", "protobuf", "onnxruntime", "ml_dtypes", "hypothesis", "attr", "attrs",
        "sortedcontainers", "platformdirs", "rich", "markdown_it", "markdown_it_py", "mdurl", "pygments",
        "packaging", "jinja2", "markupsafe", "typing_extensions", "flatbuffers", "tomlkit", "onnx_conformance",
    }  # fmt: skip
    for entry in source.iterdir():
        base = entry.name.split("-")[0].removesuffix(".py").removesuffix(".libs")
        if entry.name.startswith(("__editable__", "_hypothesis")) or base in wanted:
            (target / entry.name).symlink_to(entry)
    return python


def test_materialized_profile_certifies_without_torch(
    work: Path, profile_path: Path, materialized: Path, tmp_path: Path
) -> None:
    python = _torchless_venv(tmp_path / "venv")
    env = {**os.environ, "PYTHONNOUSERSITE": "1"}
    probe = subprocess.run([python, "-c", "import torch"], capture_output=True, text=True, env=env)
    assert probe.returncode != 0 and "No module named 'torch'" in probe.stderr
    out = tmp_path / "vendor.tar.gz"
    argv = ["certify", "--backend", "onnxruntime", "--profile", str(profile_path), "--materialized",
            str(materialized), "--out", str(out), "--quiet"]  # fmt: skip
    script = (
        "import sys\nfrom conformance.cli import main\n"
        f"rc = main({argv!r})\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\nsys.exit(rc)\n"
    )
    proc = subprocess.run([python, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    environment = json.loads(_members(out)["environment.json"])
    assert environment["torch_imported"] is False and "torch" not in environment["installed"]
    proc = subprocess.run(
        [python, "-m", "conformance", "verify", str(out), "--profile", str(profile_path), "--rerun", "3",
         "--materialized", str(materialized)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("VERIFIED")


def test_shipped_profiles_are_small_and_load() -> None:
    names = profile.shipped()
    for required in ("core", "core-special", "models", "low-precision"):
        assert required in names, names
    for name in names:
        path = profile.PROFILES_DIR / f"{name}.json"
        assert path.stat().st_size < 1_000_000, f"{path} is {path.stat().st_size} bytes"
        shipped = profile.load(name)
        assert 0 < len(shipped.instances) <= 600, (name, len(shipped.instances))
        assert [e.to_dict() for e in shipped.instances] == shipped.document["instances"], name


def test_expected_outputs_keep_scalar_shapes_and_torchs_special_values() -> None:
    import numpy as np

    truth = (np.array(1.0 / 3.0), np.array([np.inf, 2.0**-30, 1e300, -0.0]))
    source = (np.array(0.33333334, np.float32), np.array([np.inf, 0.0, np.inf, -0.0], np.float32))
    scalar, vector = freeze.truth_in_dtype(truth, source)
    assert scalar.shape == () and scalar.dtype == np.float32 and scalar == np.float32(1.0 / 3.0)
    # Finite values from the float64 truth; inf, zeros and signed zeros as torch gives them in float32.
    assert vector.tolist() == [np.inf, 0.0, np.inf, -0.0] and np.signbit(vector[3])


def test_every_shipped_profile_instance_still_draws_from_the_library() -> None:
    """A case or generator change that redraws a frozen instance must re-freeze its profile (a new version)."""
    from conformance.generate import discover_cases, draw_instances

    by_path = {c.path: c for c in discover_cases()}
    gone = []
    for name in profile.shipped():
        shipped = profile.load(name)
        drawn: dict[tuple[str, int, bool], set[str]] = {}
        for e in shipped.instances:
            key = (e.case, e.seed, e.special_values)
            if key not in drawn:
                found = draw_instances(
                    by_path[e.case], seed=e.seed, max_examples=shipped.max_examples, special_values=e.special_values
                )
                drawn[key] = {i.id for i in found}
            if e.id not in drawn[key]:
                gone.append(f"{name}: {e.id}")
    assert not gone, f"{len(gone)} frozen instances no longer draw: {gone[:8]}"


def test_certify_shows_a_bar_with_an_eta_on_a_terminal(work: Path, profile_path: Path, materialized: Path) -> None:
    """Issue 17, item 6: `--color always` makes rich treat stderr as a terminal, as a user's would be."""
    n = len(json.loads(profile_path.read_text())["instances"])
    proc = conformance(
        "--color", "always", "certify", "--backend", "onnxruntime", "--profile", str(profile_path),
        "--materialized", str(materialized), "--out", str(work / "bar.tar.gz"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "certify" in proc.stderr and "ETA" in proc.stderr and f"{n}/{n}" in proc.stderr, proc.stderr[-2000:]
    assert f"[{n}/{n}]" in proc.stderr  # the log's lines still scroll above the bar
