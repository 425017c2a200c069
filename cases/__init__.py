"""The built-in case pack, found through the `conformance.cases` entry point
group like any third-party pack."""

from __future__ import annotations

from conformance.generate import cases_in
from conformance.model import Case


def load() -> list[Case]:
    from . import ops

    return cases_in(vars(ops))
