"""ONNX's backend-test folder layout, named once: what `onnx_test_runner` and `onnx.backend.test` read.

A test folder holds `model.onnx` and `test_data_set_N/` folders of
`input_M.pb` and `output_M.pb` TensorProtos. The artifact cache, profiles,
materialized profiles, `export-cases` and the onnx-node pack all write and
read this layout; every one of them spells its names through here.
"""

from __future__ import annotations

MODEL = "model.onnx"
#: A folder of test folders (export-cases, a materialized profile) lists them here.
MANIFEST = "manifest.json"
#: The only data set a generated case has.
DATA_SET = "test_data_set_0"
#: What a manifest says its folders hold.
DESCRIPTION = "onnx backend test: model.onnx, test_data_set_0/input_N.pb, output_N.pb"


def data_set(k: int) -> str:
    return f"test_data_set_{k}"


def input_file(i: int) -> str:
    return f"input_{i}.pb"


def output_file(i: int) -> str:
    return f"output_{i}.pb"


def input_path(i: int, data: str = DATA_SET) -> str:
    """A data set's input as a path relative to the test folder (how profiles name their files)."""
    return f"{data}/{input_file(i)}"


def output_path(i: int, data: str = DATA_SET) -> str:
    return f"{data}/{output_file(i)}"
