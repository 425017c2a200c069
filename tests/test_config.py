"""A project's config file, as a user meets it: the console command run inside a project folder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from conformance.store import Store

from .conftest import conformance


def project(folder: Path, text: str, name: str = "pyproject.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder


def settings(cwd: Path, *argv: str) -> dict[str, Any]:
    """What `conformance config --json` says a command line would run with, in `cwd`."""
    proc = conformance("config", "--json", *argv, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["settings"]


def backends_recorded(db: Path) -> set[str]:
    with Store(db) as store:
        return {r.backend for r in store.results(store.run("latest").id)}


RUN = ["run", "--cases", "relu", "--max-examples", "1", "--expectations", "none", "--quiet"]


def test_backends_from_pyproject_limit_the_run(tmp_path: Path) -> None:
    """The issue's acceptance check: the file alone narrows a run to one backend."""
    root = project(tmp_path / "proj", '[tool.conformance]\nbackends = ["onnxruntime"]\n')
    proc = conformance(*RUN, "--db", str(tmp_path / "r.sqlite"), cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert backends_recorded(tmp_path / "r.sqlite") == {"onnxruntime"}


def test_the_command_line_overrides_the_file(tmp_path: Path) -> None:
    root = project(tmp_path / "proj", '[tool.conformance]\nbackends = "onnxruntime"\nseed = 7\nmax-examples = 3\n')
    proc = conformance(*RUN, "--backends", "reference", "--db", str(tmp_path / "r.sqlite"), cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert backends_recorded(tmp_path / "r.sqlite") == {"reference"}
    seen = settings(root, "run", "--max-examples", "2")
    source = f"pyproject.toml:{(root / 'pyproject.toml').resolve()}"
    assert seen["max_examples"] == {"value": 2, "source": "command line"}
    assert seen["seed"] == {"value": 7, "source": source}
    assert seen["backends"] == {"value": "onnxruntime", "source": source}


def test_relative_paths_resolve_against_the_files_folder(tmp_path: Path) -> None:
    root = project(
        tmp_path / "proj",
        '[tool.conformance]\ndb = "store/r.sqlite"\ncache_dir = "cache"\nexpectations = "known.toml"\n'
        '[tool.conformance.run]\nbackends = ["reference"]\nout = "reports"\n',
    )  # fmt: skip
    below = root / "src" / "deep"
    below.mkdir(parents=True)
    seen = settings(below, "run")
    root = root.resolve()
    assert seen["db"]["value"] == str(root / "store" / "r.sqlite")
    assert seen["cache_dir"]["value"] == str(root / "cache")
    assert seen["expectations"]["value"] == str(root / "known.toml")
    assert seen["out"]["value"] == str(root / "reports")
    assert settings(below, "run", "--db", "here.sqlite")["db"]["value"] == "here.sqlite", (
        "the command line's stay as typed"
    )

    (root / "store").mkdir()
    cache = os.environ["CONFORMANCE_CACHE_DIR"]  # the session's warm cache: the file's own would export again
    proc = conformance(*RUN, "--cache-dir", cache, cwd=below)
    assert proc.returncode == 0, proc.stderr
    assert backends_recorded(root / "store" / "r.sqlite") == {"reference"}
    report = json.loads((root / "reports" / "report.json").read_text())
    assert {r["backend"] for r in report["results"]} == {"reference"}
    assert not (below / "reports").exists()


def test_conformance_toml_wins_over_pyproject_beside_it_and_the_nearest_folder_wins(tmp_path: Path) -> None:
    root = project(tmp_path / "proj", '[tool.conformance]\nbackends = "onnxruntime"\nseed = 3\n')
    project(root, 'backends = ["reference", "onnxruntime-noopt"]\n', "conformance.toml")
    seen = settings(root, "run")
    assert seen["backends"] == {
        "value": "reference,onnxruntime-noopt",
        "source": f"conformance.toml:{(root / 'conformance.toml').resolve()}",
    }
    assert seen["seed"] == {"value": 0, "source": "default"}, "the two files are not merged"

    inner = project(root / "inner", '[project]\nname = "not-configured"\n')  # no [tool.conformance]: look above
    assert settings(inner, "run")["backends"]["source"].startswith("conformance.toml:")
    project(inner, "[tool.conformance]\nseed = 5\n")
    seen = settings(inner, "run")
    assert seen["seed"]["value"] == 5 and seen["backends"]["source"] == "default"


def test_config_json_names_each_source(tmp_path: Path) -> None:
    root = project(
        tmp_path / "proj",
        '[tool.conformance]\npreset = "quick"\nmax_examples = 3\n[tool.conformance.nightly]\nmax_examples = 1\n',
    )
    file = f"pyproject.toml:{(root / 'pyproject.toml').resolve()}"
    proc = conformance("config", "--json", "run", "--cover", "each", cwd=root)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["command"] == "conformance run" and data["config"] == file
    seen = data["settings"]
    assert seen["cover"] == {"value": "each", "source": "command line"}
    assert seen["preset"] == {"value": "quick", "source": file}
    assert seen["max_examples"] == {"value": 3, "source": file}, "the file's value counts as asked for, over the preset"
    assert seen["exporters"] == {"value": ["dynamo"], "source": "preset:quick"}
    assert seen["db"] == {"value": os.environ["CONFORMANCE_DB"], "source": "environment"}
    assert seen["timeout"]["source"] == "default"
    nightly = settings(root, "nightly")
    assert nightly["max_examples"] == {"value": 1, "source": file}, "a command's table wins over the top level"
    assert nightly["cover"] == {"value": "none", "source": "preset:quick"}, "the top-level preset reaches nightly"

    bare = settings(tmp_path, "nightly")  # no file: the nightly preset's own defaults
    assert bare["preset"] == {"value": "nightly", "source": "default"}
    assert bare["exporters"] == {"value": ["dynamo", "torchscript"], "source": "preset:nightly"}

    project(root, '[tool.conformance]\ndb = "mine.sqlite"\n')
    assert settings(root, "report", "latest")["db"]["source"] == file, "the file overrides $CONFORMANCE_DB"

    table = conformance("config", "expectations", "update", cwd=root)
    assert table.returncode == 0, table.stderr
    assert "db" in table.stdout and "pyproject.toml" in table.stdout


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("pyproject.toml", '[tool.conformance]\nbackendz = ["onnxruntime"]\n',
         "[tool.conformance] unknown key 'backendz' (known: backend, backends, "),
        ("conformance.toml", "max_exampels = 3\n", "unknown key 'max_exampels' (known: "),
        ("pyproject.toml", "[tool.conformance.run]\njson = true\n", "[tool.conformance.run] unknown key 'json'"),
        ("pyproject.toml", '[tool.conformance]\nmax-examples = "none"\n',
         "[tool.conformance] max-examples: 'none' is not a whole number, 1 or more (as `conformance run --max-examples`"),
        ("pyproject.toml", "[tool.conformance]\nquiet = 1\n", "quiet: 1 is not true or false"),
        ("pyproject.toml", "[tool.conformance]\nopset = [17, 21]\n",
         "opset: takes one value, not a list (as `conformance coverage --opset` reads it)"),
        ("pyproject.toml", '[tool.conformance]\npreset = "weekly"\n', "preset: 'weekly' is not one of nightly, quick"),
        ("pyproject.toml", "[tool.conformance]\nseed = 1\nseed = 2\n", "not valid TOML"),
    ],
)  # fmt: skip
def test_a_bad_file_is_a_one_line_usage_error(tmp_path: Path, name: str, text: str, needle: str) -> None:
    root = project(tmp_path / "proj", text, name)
    for argv in (RUN, ["config"]):
        proc = conformance(*argv, cwd=root)
        assert proc.returncode == 2, (proc.stdout, proc.stderr)
        assert proc.stderr.startswith(f"error: {name}:{(root / name).resolve()}: "), proc.stderr
        assert needle in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr


def test_a_list_option_takes_a_list_and_a_command_table_scopes_a_value(tmp_path: Path) -> None:
    root = project(tmp_path / "proj", '[tool.conformance.run]\nopset = [17, 21]\nvalues = "plain,wide"\n')
    seen = settings(root, "run")
    assert seen["opset"]["value"] == [17, 21] and seen["values"]["value"] == ["plain", "wide"]
    assert settings(root, "coverage")["opset"] == {"value": 18, "source": "default"}
