"""The built-in case pack, found through the `conformance.cases` entry point
group like any third-party pack. Every public module of this package holds
cases; a module whose name starts with `_` holds helpers."""

from __future__ import annotations

import importlib
import pkgutil

from conformance.generate import cases_in
from conformance.model import Case


def load() -> list[Case]:
    """Every built-in case; none where torch is missing (a vendor running materialized profiles)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return []
    found: list[Case] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            found.extend(cases_in(vars(importlib.import_module(f"{__name__}.{info.name}"))))
    return found
