"""Where a run's time goes: wall and CPU seconds per stage, and per backend.

A run overlaps its stages (the backends run one instance while the driver
exports the next), so the stages' wall times add up to more than the run's;
each says how long that stage kept something busy. CPU time is the driver's
own (its process time); the backends' work happens in their worker
processes and is counted as the wall time of their `prepare` and `run`
calls, per backend, plus the workers' peak resident memory.
"""

from __future__ import annotations

import resource
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

#: The stages in the order a result passes them (localize and reduce belong to `findings --reduce`).
STAGES = ("draw", "export", "oracles", "cache", "prepare", "run", "judge", "store", "localize", "reduce")


def _peak_rss_mb(who: int) -> float:
    """Peak resident set size in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(who).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


@dataclass
class StageClock:
    """Accumulates seconds per stage; one per run, owned by the engine and handed to what it calls."""

    wall: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    cpu: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    backends: dict[str, dict[str, float]] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - wall, time.process_time() - cpu)

    def add(self, name: str, wall: float, cpu: float = 0.0, calls: int = 1) -> None:
        self.wall[name] += wall
        self.cpu[name] += cpu
        self.calls[name] += calls

    def backend(self, name: str, prepare: float, run: float) -> None:
        """A backend's own seconds for one result (measured in its worker)."""
        row = self.backends.setdefault(name, {"prepare": 0.0, "run": 0.0, "results": 0})
        row["prepare"] += prepare
        row["run"] += run
        row["results"] += 1
        self.add("prepare", prepare)
        self.add("run", run)

    def to_dict(self) -> dict[str, Any]:
        order = [s for s in STAGES if s in self.wall] + sorted(set(self.wall) - set(STAGES))
        return {
            "wall_s": round(time.perf_counter() - self.started, 3),
            "stages": {
                s: {"wall_s": round(self.wall[s], 3), "cpu_s": round(self.cpu[s], 3), "calls": self.calls[s]}
                for s in order
            },
            "backends": {
                b: {"prepare_s": round(v["prepare"], 4), "run_s": round(v["run"], 4), "results": int(v["results"])}
                for b, v in sorted(self.backends.items())
            },
            "peak_rss_mb": {
                "driver": _peak_rss_mb(resource.RUSAGE_SELF),
                "workers": _peak_rss_mb(resource.RUSAGE_CHILDREN),
            },
        }


def format_timings(timings: dict[str, Any]) -> list[str]:
    """A few lines for a console: each stage's wall and CPU seconds, and the backends' own time."""
    if not timings:
        return []
    stages = ", ".join(f"{s} {v['wall_s']:.1f}s" for s, v in timings.get("stages", {}).items())
    lines = [f"time: {timings.get('wall_s', 0):.1f}s wall; stages (overlapping): {stages}"]
    backends = timings.get("backends", {})
    if backends:
        lines.append(
            "backends: "
            + ", ".join(f"{b} {v['prepare_s'] + v['run_s']:.1f}s/{v['results']}" for b, v in backends.items())
        )
    rss = timings.get("peak_rss_mb", {})
    if rss:
        lines.append(f"peak RSS: driver {rss.get('driver', 0):.0f} MiB, workers {rss.get('workers', 0):.0f} MiB")
    return lines
