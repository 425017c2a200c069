"""A run's log: the warnings its drawing, exporting and oracles raise, kept out of the console.

torch warns about what the cases ask of it on purpose (a variance over one
element, a deprecated `reduce=` argument), and its exporters chatter; a user
watching a run wants its progress and its findings. Each warning goes to the
run's log file, once per place it was raised from, with the instance it
came from; the command names the file at the end.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO


@contextlib.contextmanager
def warnings_to(path: Path | None, context: list[str] | None = None) -> Iterator[None]:
    """Every warning raised inside goes to `path` (created on the first one); `context[0]`, when given, names
    what was being done, so the log says which instance a warning came from. None: warnings as they were."""
    if path is None:
        yield
        return
    handle: list[TextIO] = []
    seen: set[tuple[str, int, str]] = set()

    def show(
        message: Any, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None
    ) -> None:
        key = (filename, lineno, str(message)[:200])
        if key in seen:
            return
        seen.add(key)
        if not handle:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle.append(path.open("a", encoding="utf-8"))
        where = f"[{context[0]}] " if context else ""
        handle[0].write(f"{where}{filename}:{lineno}: {category.__name__}: {message}\n")
        handle[0].flush()

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        try:
            yield
        finally:
            for h in handle:
                h.close()
