"""Render stage: reports are built from the results store, never from a live run."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from .model import FAILING
from .store import Store


def report_data(store: Store, run_id: str) -> dict[str, Any]:
    run = store.run(run_id)
    results = store.results(run.id)
    by_backend: dict[str, Counter[str]] = {}
    for r in results:
        by_backend.setdefault(r.backend, Counter())[str(r.outcome)] += 1
    return {
        "schema": "conformance-report/1",
        "run": {
            "id": run.id,
            "started": run.started,
            "finished": run.finished,
            "status": run.status,
            "seed": run.seed,
            "profile": run.profile,
            "command": run.command,
            "options": run.options,
            "versions": run.environment,
        },
        "summary": {
            "results": len(results),
            "failed": sum(r.outcome in FAILING for r in results),
            "outcomes": dict(Counter(str(r.outcome) for r in results)),
            "by_backend": {b: dict(c) for b, c in sorted(by_backend.items())},
        },
        "results": [r.to_dict() for r in results],
    }


def write_json(store: Store, run_id: str, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.json"
    path.write_text(json.dumps(report_data(store, run_id), indent=1, default=str))
    return path
