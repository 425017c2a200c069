"""The dtype groups cases draw from, defined once (as array-api-tests' dtype_helpers does).

Public for third-party case packs: `from conformance.dtypes import FLOATS`.
The names are what torch and numpy call the dtypes; bfloat16 is
ml_dtypes' type in numpy.
"""

from __future__ import annotations

#: Every floating dtype the suite exports.
FLOATS = ("float32", "float16", "bfloat16", "float64")
#: The floating dtypes without bfloat16: for ops torch's CPU kernels or the exporters lack in bfloat16.
FLOATS_NO_BF16 = ("float32", "float16", "float64")
#: Signed integers (no uint8): for ops whose meaning needs a sign.
SIGNED_INTS = ("int8", "int32", "int64")
#: The integer dtypes.
INTS = ("int8", "uint8", "int32", "int64")
NUMERIC = FLOATS + INTS
#: Every dtype a tensor input can have.
ALL = FLOATS + INTS + ("bool",)
