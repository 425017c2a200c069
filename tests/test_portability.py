"""An exported model's bytes depend on what its cache key names, never on where the project is installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from .conftest import REPO

#: Exports a few cases from whichever copy of the project is first on the path.
PROBE = """
import hashlib, json, sys
from pathlib import Path
import conformance, cases
from conformance.export import ArtifactCache, artifact_key, build_artifact
from conformance.generate import discover_cases, draw_instances, select_cases
cache = ArtifactCache(Path(sys.argv[1]))
out = {"conformance": conformance.__file__, "cases": cases.__file__, "models": {}}
for case in select_cases(discover_cases(), "relu,softmax,conv2d,layer_norm,where"):
    instance = draw_instances(case, seed=0, max_examples=1)[0]
    for exporter in ("dynamo", "torchscript"):
        art = build_artifact(instance, exporter, 18, cache)
        assert not art.export_error, art.export_error
        data = art.model_path.read_bytes()
        out["models"][f"{instance.id}:{exporter}"] = [artifact_key(instance, exporter, 18), hashlib.sha256(data).hexdigest()]
print(json.dumps(out))
"""


def _install_copy(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """The project copied to its own folder and installed from there (not editable)."""
    source = tmp_path / name / "onnx-conformance"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".venv", ".git", "*.egg-info", "build", "__pycache__"))
    target = tmp_path / name / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--quiet",
         "--target", str(target), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    return source, target


def test_two_installs_in_different_folders_export_identical_bytes(tmp_path: Path) -> None:
    found = []
    for name in ("first", "a-second-differently-named-folder"):
        _source, target = _install_copy(tmp_path, name)
        env = dict(os.environ, PYTHONPATH=str(target))
        proc = subprocess.run(
            [sys.executable, "-c", PROBE, str(tmp_path / name / "cache")],
            capture_output=True, text=True, cwd=tmp_path / name, env=env, timeout=600,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        result = json.loads(proc.stdout)
        assert result["conformance"].startswith(str(target)), "each copy must import its own install"
        assert result["cases"].startswith(str(target))
        found.append(result["models"])
    assert len(found[0]) == 10
    assert found[0] == found[1], "the same case, exporter and opset must give the same key and the same model bytes"
    for name in ("first", "a-second-differently-named-folder"):
        for model in (tmp_path / name / "cache").rglob("model.onnx"):
            data = model.read_bytes()
            assert str(tmp_path).encode() not in data, f"{model} names the folder it was exported from"
            for node in onnx.load_from_string(data).graph.node:
                assert not [p.key for p in node.metadata_props if "stack_trace" in p.key or p.key == "namespace"]
                assert node.name, "node names stay: they are what a reader maps back to the torch program"


#: Compiles one Relu with the IREE adapter from whichever iree is first on the path.
IREE_PROBE = """
import iree.compiler
from onnx import TensorProto, helper
from conformance.backends.iree import IREE
x, y = (helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3]) for n in "xy")
graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
backend = IREE()
backend._compile(backend._import(model))
print("compiled with", iree.compiler.__file__)
"""


def test_iree_compiles_from_an_install_path_with_a_space(tmp_path: Path) -> None:
    """iree-compile 3.13 runs its bundled linker through a shell with the path unquoted: the adapter links around it.

    Without the work-around every llvm-cpu compile from such an install fails
    with `sh: 1: /first/part: not found`, which is how a fresh clone in
    "clone two/" first showed it.
    """
    iree = pytest.importorskip("iree.compiler")
    real = Path(iree.__file__).parents[1]  # the iree namespace folder
    site = tmp_path / "with space" / "site" / "iree"
    site.mkdir(parents=True)
    for part in real.iterdir():  # the same install, seen from a path with a space
        (site / part.name).symlink_to(part)
    env = {**os.environ, "PYTHONPATH": f"{site.parent}{os.pathsep}{REPO}"}
    proc = subprocess.run(
        [sys.executable, "-c", IREE_PROBE], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "with space" in proc.stdout, "the probe did not use the iree seen from the path with a space"


def test_the_cli_exports_the_same_bytes_whatever_the_callers_hash_seed(tmp_path: Path) -> None:
    """torch 2.13's dynamo exporter orders embedding_bag's Loop-carried values by set order, i.e. by the
    string-hash seed (PYTHONHASHSEED 0 and 1 give different bytes in a plain process); the command pins it."""
    models = []
    for seed in ("0", "1"):
        out = tmp_path / f"seed{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        env.pop("CONFORMANCE_HASH_SEED_PINNED", None)
        proc = subprocess.run(
            [sys.executable, "-m", "conformance", "export-cases", "--cases", "embedding_bag", "--quiet",
             "--cache-dir", str(tmp_path / f"cache{seed}"), str(out)],
            capture_output=True, text=True, env=env, timeout=600,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        (model,) = out.glob("*/model.onnx")
        models.append(model.read_bytes())
    assert models[0] == models[1], "the exported bytes depend on the hash seed of the process that ran the command"
