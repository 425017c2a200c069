"""pytest plugin: the suite's cases as test items, and the `conformance_check` fixture.

It only translates between pytest and the engine. Nothing happens unless a
session asks with `--conformance` (or `conformance = true` in the ini file):
this module imports nothing heavy at start-up, so other sessions pay nothing.

With `--conformance` the suite is collected the way pytest collects
non-Python tests: a root collector, `conformance`, sits beside the session's
folders (added to the session's own collect report, as pytest's cache plugin
reorders it), and its `collect()` yields a collector per category, each a
collector per case, each the case's items: one per backend and exporter (and
opset, when more than one is asked for). Node ids read as paths,
`conformance/elementwise/add[onnxruntime-dynamo]`, so that the id a report
prints is the argument that reruns the item; pytest itself would refuse such
an argument (no file of that name), so the plugin takes `conformance` and
`conformance/...` arguments off the command line before collection and keeps
the items they name. `--dist loadscope` keeps a case's items on one worker
(its export is then made once), through a scheduler that scopes by case.

An item hunts with Hypothesis: it draws up to `--conformance-max-examples`
instances and shrinks the first failing one to a minimal one before showing
it. Only real results reach the store: the instances drawn before the
failure and the minimal one Hypothesis ends on; the candidates it tried
while shrinking are not results of the run and are dropped. Each item
records its results once, when it ends.

A session's state (options, store, executor, what it collected and found)
lives in `config.stash`, never in this module.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # annotations only: importing these pulls numpy, onnx and torch
    from .engine import RunOptions
    from .findings import Finding
    from .graphs import OpUse
    from .model import Backend, Case, Result

#: The root collector's name, and the first part of every item's node id.
SUITE = "conformance"

#: option name -> (ini key, kind, help); kind is bool, int, float, ints (comma-separated) or string.
_OPTIONS: dict[str, tuple[str, str, str]] = {
    "conformance_cases": ("conformance_cases", "string", "comma-separated globs over case names or paths"),
    "conformance_backends": ("conformance_backends", "string", "comma-separated backends (default: every available)"),
    "conformance_exporters": ("conformance_exporters", "string", "dynamo, torchscript (default: dynamo)"),
    "conformance_max_examples": ("conformance_max_examples", "int", "instances tried per item (default: 5)"),
    "conformance_seed": ("conformance_seed", "int", "generation seed (default: 0)"),
    "conformance_special_values": ("conformance_special_values", "bool", "draw NaN, inf, -0.0, subnormals"),
    "conformance_expectations": ("conformance_expectations", "string", "known-failures file (default: shipped)"),
    "conformance_db": ("conformance_db", "string", "results store (default: the user data dir)"),
    "conformance_report": ("conformance_report", "string", "write the run's reports into this folder"),
    "conformance_opset": ("conformance_opset", "ints", "ONNX opsets to export at, comma-separated (default: 18)"),
    "conformance_timeout": ("conformance_timeout", "float", "seconds per backend run before `timeout` (default: 120)"),
    "conformance_memory_limit": (
        "conformance_memory_limit",
        "int",
        "MiB of address space per backend worker, 0 for no limit (default: 8192)",
    ),
    "conformance_cache_dir": ("conformance_cache_dir", "string", "artifact cache (default: the user cache dir)"),
}

_TYPES: dict[str, Callable[[str], Any]] = {"int": int, "float": float, "string": str, "ints": str}

#: Findings the terminal summary lists; `conformance findings RUN` lists every one.
SUMMARY_FINDINGS = 5


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "ONNX conformance suite")
    group.addoption(
        "--conformance", action="store_true", default=None, help="collect the conformance suite's cases as tests"
    )
    parser.addini("conformance", type="bool", default=False, help="collect the conformance suite's cases as tests")
    for dest, (ini, kind, text) in _OPTIONS.items():
        flag = "--" + dest.replace("_", "-")
        if kind == "bool":
            group.addoption(flag, action="store_true", default=None, dest=dest, help=text)
        else:
            group.addoption(flag, default=None, dest=dest, type=_TYPES[kind], help=text)
        parser.addini(ini, type="bool" if kind == "bool" else "string", default=None, help=text)


def _option(config: pytest.Config, dest: str, default: Any = None) -> Any:
    """The command line's value, else the ini file's (typed as the command line would), else `default`."""
    value = config.getoption(dest)
    ini, kind, _ = _OPTIONS[dest]
    if value is None:
        value = config.getini(ini)
        if value in (None, ""):
            return default
        if kind in ("int", "float"):
            value = _TYPES[kind](value)
    if kind == "ints":
        try:
            return tuple(int(v) for v in str(value).split(",") if v.strip())
        except ValueError:
            raise pytest.UsageError(f"conformance: --{dest.replace('_', '-')} takes integers, not {value!r}") from None
    return value


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("conformance") or config.getini("conformance"))


_STATE = pytest.StashKey["ConformanceSession"]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance: an item generated by the ONNX conformance suite")
    if _enabled(config):
        state = ConformanceSession(config)
        config.stash[_STATE] = state
        config.pluginmanager.register(state, "conformance-session")
        state.register_markers()


def marker_name(prefix: str, name: str) -> str:
    """A backend or category as a marker: `onnxruntime-noopt` is `backend_onnxruntime_noopt`."""
    return prefix + "_" + re.sub(r"\W", "_", name)


def _is_suite_arg(arg: str, base: Path) -> bool:
    """A command-line argument naming part of the suite (a file of the user's own is left to pytest)."""
    if arg != SUITE and not arg.startswith(SUITE + "/"):
        return False
    return "::" not in arg and not (base / arg).is_file()


def _selected_by(selector: str, nodeid: str) -> bool:
    """`conformance`, a category, a case (every backend) or one item, as its node id reads."""
    if nodeid == selector or nodeid.startswith(selector + "/"):
        return True
    return "[" not in selector and nodeid.partition("[")[0] == selector


def _covers(selector: str, case: str) -> bool:
    """Whether a selector names the case (a case's node id, `conformance/<path>`), one of its items or its category."""
    named = selector.partition("[")[0]
    return case == named or case.startswith(named + "/")


def _graph_of(result: Result) -> tuple[str, str, int]:
    return result.case_id, result.exporter, result.opset


@dataclass(frozen=True)
class Planned:
    """One item: a case on one backend with one exporter at one opset."""

    case: Case
    backend: str
    exporter: str
    opset: int
    #: What the id's brackets say: backend and exporter, and the opset when the session asks for several.
    params: str

    @property
    def nodeid(self) -> str:
        return f"{SUITE}/{self.case.path}[{self.params}]"


class ConformanceSession:
    """Per-process state of a conformance pytest session: options, store, executor, plan and findings."""

    def __init__(self, config: pytest.Config) -> None:
        from .engine import RunOptions
        from .expectations import resolve_path

        self.config = config
        defaults = RunOptions()
        opsets = _option(config, "conformance_opset") or (defaults.opset,)
        cache_dir = _option(config, "conformance_cache_dir")
        self.options: RunOptions = replace(
            defaults,
            cases=_option(config, "conformance_cases"),
            backends=_option(config, "conformance_backends"),
            exporters=tuple(
                e.strip() for e in (_option(config, "conformance_exporters") or "dynamo").split(",") if e.strip()
            ),
            max_examples=_option(config, "conformance_max_examples", defaults.max_examples),
            seed=_option(config, "conformance_seed", defaults.seed),
            special_values=bool(_option(config, "conformance_special_values", False)),
            opset=opsets[0],
            opsets=opsets if len(opsets) > 1 else (),
            cache_dir=Path(cache_dir) if cache_dir else defaults.cache_dir,
            db=Path(_option(config, "conformance_db") or defaults.db),
            expectations=resolve_path(_option(config, "conformance_expectations")),
            timeout=_option(config, "conformance_timeout", defaults.timeout),
            memory_limit_mb=_option(config, "conformance_memory_limit", defaults.memory_limit_mb),
            command=" ".join(["pytest", *config.invocation_params.args]),
        )
        workerinput = getattr(config, "workerinput", None)
        self.is_worker = workerinput is not None
        self.run_id: str = workerinput["conformance_run_id"] if workerinput else _new_run_id()
        self.selectors = self._take_selectors()
        self._store: Any = None
        self._executor: Any = None
        self._expectations: Any = None
        self._cases: list[Case] | None = None
        self._backends: dict[str, Backend] | None = None
        self._versions: dict[str, str] | None = None
        self._plan: dict[str, list[Planned]] | None = None
        self.failed: set[str] = set()
        self._cache: Any = None
        self.findings: list[Finding] | None = None
        self.recorded = 0
        #: Per instance id judged in this process, the (op, dtype) kinds of node its graph holds.
        #: Per graph (instance id, exporter, opset): an instance runs under each exporter and opset, each its own graph.
        self.graph_ops: dict[tuple[str, str, int], tuple[OpUse, ...]] = {}

    def _take_selectors(self) -> tuple[str, ...]:
        """Take the suite's node ids off pytest's arguments, which must name files; the suite's collector reads them.

        A worker parses the same command line again, and so takes the same ones.
        """
        args = self.config.args
        base = self.config.invocation_params.dir
        taken = [a.rstrip("/") for a in args if _is_suite_arg(a, base)]
        if taken:
            args[:] = [a for a in args if not _is_suite_arg(a, base)]
        return tuple(taken)

    # ------------------------------------------------------------ what the session runs
    def discovered(self) -> list[Case]:
        """Every installed case, found once per process."""
        if self._cases is None:
            from .generate import discover_cases

            try:
                self._cases = discover_cases(Path(self.options.cache_dir))
            except Exception as exc:
                raise pytest.UsageError(f"conformance: {exc}") from None
        return self._cases

    def backends(self) -> dict[str, Backend]:
        if self._backends is None:
            from .backends import backend_version, select_backends

            try:
                chosen = select_backends(self.options.backends)
            except Exception as exc:
                raise pytest.UsageError(f"conformance: {exc}") from None
            self._backends = {b.name: b for b in chosen}
            self._versions = {b.name: backend_version(b) for b in chosen}  # once, not per item
        return self._backends

    def versions(self) -> dict[str, str]:
        self.backends()
        assert self._versions is not None
        return self._versions

    def register_markers(self) -> None:
        """A marker per backend and category, so `-m "backend_onnxruntime and not model"` selects, even strictly."""
        from .backends import discover_backends

        for name in discover_backends():
            self.config.addinivalue_line("markers", f"{marker_name('backend', name)}: an item run on {name}")
        for category in sorted({c.category for c in self.discovered()}):
            self.config.addinivalue_line("markers", f"{marker_name('category', category)}: a case of {category}")
        self.config.addinivalue_line("markers", "model: a case of the model category (whole networks)")

    def cases(self) -> list[Case]:
        """The cases `--conformance-cases` selects; an opt-in case also when an argument names its category."""
        from .generate import OPT_IN, select_cases

        discovered = self.discovered()
        try:
            chosen = select_cases(discovered, self.options.cases)
        except Exception as exc:
            raise pytest.UsageError(f"conformance: {exc}") from None
        if self.options.cases is None and self.selectors:
            named = [s for s in self.selectors if s != SUITE]
            chosen += [
                c for c in discovered if OPT_IN in c.tags and any(_covers(s, f"{SUITE}/{c.path}") for s in named)
            ]
        return chosen

    def plan(self) -> dict[str, list[Planned]]:
        """Every item of the session by case path, in case order; an argument naming nothing is a usage error."""
        if self._plan is not None:
            return self._plan
        from .generate import exports_of

        opsets = self.options.opset_list
        planned: list[Planned] = []
        for c in self.cases():
            for backend in self.backends():
                for exporter, opset in exports_of(c, self.options.exporters, opsets):
                    several = len(opsets) > 1 and c.prebuilt is None
                    params = f"{backend}-{exporter}" + (f"-{opset}" if several else "")
                    planned.append(Planned(c, backend, exporter, opset, params))
        if self.selectors:
            unmatched = [s for s in self.selectors if not any(_selected_by(s, p.nodeid) for p in planned)]
            if unmatched:
                raise pytest.UsageError(
                    f"conformance: not found: {', '.join(unmatched)} (the selected cases and backends have no such "
                    "item; `pytest --conformance --collect-only -q` lists them)"
                )
            planned = [p for p in planned if any(_selected_by(s, p.nodeid) for s in self.selectors)]
        for backend in self.backends():  # backends outside the entry points (onnx-backend:...) too
            self.config.addinivalue_line("markers", f"{marker_name('backend', backend)}: an item run on {backend}")
        self._plan = {}
        for p in planned:
            self._plan.setdefault(p.case.path, []).append(p)
        return self._plan

    # ------------------------------------------------------------ what an item needs
    def store(self) -> Any:
        if self._store is None:
            from .store import Store

            self._store = Store(self.options.db, create=True)
        return self._store

    def executor(self) -> Any:
        if self._executor is None:
            from .execute import ProcessExecutor

            self._executor = ProcessExecutor(self.options.timeout, self.options.memory_limit_mb)
        return self._executor

    def expectations(self) -> Any:
        if self._expectations is None:
            from .expectations import ExpectationSet, load

            try:
                known = load(self.options.expectations) if self.options.expectations else []
            except Exception as exc:
                raise pytest.UsageError(f"conformance: {exc}") from None
            self._expectations = ExpectationSet.of(known)
        return self._expectations

    def judge(self, instance: Any, planned: Planned) -> list[Result]:
        """One instance on the item's backend, judged and stamped with the run; not yet recorded."""
        from .compare import apply_expectations
        from .engine import graph_ops, run_instance
        from .export import ArtifactCache, build_artifact
        from .model import Outcome

        if self._cache is None:
            self._cache = ArtifactCache(Path(self.options.cache_dir))
        backend = self.backends()[planned.backend]
        versions = {backend.name: self.versions()[backend.name]}
        results = run_instance(
            instance, planned.exporter, planned.opset, [backend], versions, self._cache, self.executor()
        )
        if results and results[0].outcome is not Outcome.EXPORT_FAIL:
            # The artifact is in the cache now: its graph's ops feed the op support matrix, as a run's do, and
            # the expectations that know a cause by its op.
            # Keyed as the results name their graph (a prebuilt model's own opset, not the session's).
            artifact = build_artifact(instance, planned.exporter, planned.opset, self._cache)
            self.graph_ops[_graph_of(results[0])] = graph_ops(artifact.model_path)
        ops = self.graph_ops.get(_graph_of(results[0])) if results else None
        return apply_expectations(results, self.expectations(), self.run_id, ops)

    def record(self, results: Sequence[Result]) -> None:
        """Results of one item, with the ops of the graphs they ran."""
        store = self.store()
        store.record_many(results)
        for r in results:
            ops = self.graph_ops.get(_graph_of(r))
            if ops is not None:
                store.record_graph_ops(self.run_id, r.case_id, r.exporter, r.opset, ops)

    def rerun_command(self, nodeid: str) -> str:
        """The item alone: its node id with the options that shape it (the cases it is among need not be given)."""
        import shlex

        args = ["pytest", "--conformance"]
        for dest, (_, kind, _) in _OPTIONS.items():
            value = self.config.getoption(dest)
            if value is None or dest in ("conformance_cases", "conformance_report"):
                continue
            flag = "--" + dest.replace("_", "-")
            args += [flag] if kind == "bool" else [flag, str(value)]
        return shlex.join([*args, nodeid])

    # ------------------------------------------------------------ xdist
    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["conformance_run_id"] = self.run_id

    @pytest.hookimpl(optionalhook=True, tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        """`--dist loadscope` by case: xdist scopes by what precedes the last `::`, and the suite's ids have none."""
        if config.getvalue("dist") != "loadscope":
            return None
        from xdist.scheduler import LoadScopeScheduling

        class CaseScopeScheduling(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                if nodeid.startswith(SUITE + "/"):
                    return nodeid.partition("[")[0]
                return str(super()._split_scope(nodeid))

        return CaseScopeScheduling(config, log)

    # ------------------------------------------------------------ lifecycle
    def _records(self) -> bool:
        """The controller (or the only process) owns the run record; --collect-only makes none."""
        return not self.is_worker and not self.config.option.collectonly

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        o = self.options
        versions = ", ".join(f"{name} {version}" for name, version in self.versions().items())
        return [
            f"conformance: run {self.run_id}, seed {o.seed}, {o.max_examples} examples per item, "
            f"exporters {', '.join(o.exporters)}, opset {', '.join(map(str, o.opset_list))}, store {o.db}",
            f"conformance backends: {versions}",
        ]

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if not self._records():
            return
        from .engine import environment, utc_now

        self.expectations()  # a broken file is an error now, not once per item
        self.store().begin_run(
            self.run_id,
            utc_now(),
            seed=self.options.seed,
            environment=environment(self.versions()),
            options=self.options.to_dict(),
            command=self.options.command,
        )

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        """The suite's root collector joins what the session collects, so its items go through pytest's collection."""
        report = yield
        if isinstance(collector, pytest.Session) and report.passed:
            self.plan()  # a usage error belongs to the session, not to one collector
            report.result.append(ConformanceSuite.from_parent(collector, name=SUITE, nodeid=SUITE))
        return report

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Start the backends' workers while the first item exports."""
        if self.config.option.collectonly:
            return
        names = {item.planned.backend for item in session.items if isinstance(item, ConformanceItem)}
        if names:
            self.executor().start([self.backends()[n] for n in sorted(names)])

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed and report.nodeid.startswith(SUITE + "/"):
            self.failed.add(report.nodeid)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int | pytest.ExitCode) -> None:
        if self._executor is not None:
            self._executor.close()
        if self.failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED  # whatever else ran, a failing case fails the session
        if self._records():
            from .engine import utc_now
            from .findings import cluster

            # The store's status says whether the run finished, as `conformance run`'s does; a run whose
            # results failed is complete, and the series and diffs compare it.
            status = {
                pytest.ExitCode.INTERRUPTED: "interrupted",
                pytest.ExitCode.INTERNAL_ERROR: "failed",
                pytest.ExitCode.USAGE_ERROR: "failed",
            }.get(session.exitstatus, "complete")
            self.store().finish_run(self.run_id, utc_now(), status)
            results = self.store().results(self.run_id)  # every xdist worker's too: they share the run
            self.recorded = len(results)
            self.findings = cluster(results)
            report_dir = _option(self.config, "conformance_report")
            if report_dir:
                from . import report

                report.write_reports(self.store(), self.run_id, Path(report_dir))
        if self._store is not None:
            self._store.close()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.findings is None:
            return
        tr, found = terminalreporter, self.findings
        tr.write_sep("=", "conformance findings")
        parties = Counter(f.party for f in found)
        expected = sum(not f.unexpected for f in found)
        tr.write_line(
            f"run {self.run_id}: {self.recorded} results, {len(found)} findings"
            + (" (" + ", ".join(f"{n} {p}" for p, n in sorted(parties.items())) + ")" if found else "")
            + (f", {expected} of them expected" if expected else "")
        )
        for f in found[:SUMMARY_FINDINGS]:
            who = f.backend if f.backend != "*" else f"* ({f.exporter} export)"
            tr.write_line(
                f"  {f.id} {f.party}: {who}, {f.op} ({f.dtype}) {f.outcome}, {f.results} results"
                + ("" if f.unexpected else " [expected]")
            )
        if found:
            more = f"{len(found) - SUMMARY_FINDINGS} more and " if len(found) > SUMMARY_FINDINGS else ""
            tr.write_line(f"  {more}the evidence: conformance findings {self.run_id} --db {self.options.db}")


def _new_run_id() -> str:
    from .engine import new_run_id

    return new_run_id()


def _state(config: pytest.Config) -> ConformanceSession:
    return config.stash[_STATE]


# ------------------------------------------------------------------ collection tree


class ConformanceSuite(pytest.Collector):
    """The suite's root, `conformance`: a collector per category."""

    def collect(self) -> Iterator[pytest.Collector]:
        categories = dict.fromkeys(items[0].case.category for items in _state(self.config).plan().values())
        for category in categories:
            yield ConformanceCategory.from_parent(self, name=category, nodeid=f"{self.nodeid}/{category}")


class ConformanceCategory(pytest.Collector):
    """`conformance/<category>`: a collector per case; its marker (and `model`) reach every item below it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_marker(marker_name("category", self.name))
        if self.name == "model":
            self.add_marker("model")

    def collect(self) -> Iterator[pytest.Collector]:
        for path, items in _state(self.config).plan().items():
            if items[0].case.category == self.name:
                yield ConformanceCase.from_parent(self, name=items[0].case.name, nodeid=f"{SUITE}/{path}")


class ConformanceCase(pytest.Collector):
    """`conformance/<category>/<case>`: the case's items, which `--dist loadscope` keeps together."""

    def collect(self) -> Iterator[pytest.Item]:
        for p in _state(self.config).plan()[self.nodeid.removeprefix(SUITE + "/")]:
            yield ConformanceItem.from_parent(self, name=f"{p.case.name}[{p.params}]", nodeid=p.nodeid, planned=p)


class ConformanceItem(pytest.Item):
    """One case on one backend, exporter and opset: a hunt for an instance it gets wrong."""

    def __init__(self, *, planned: Planned, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planned = planned
        self.add_marker("conformance")
        self.add_marker(marker_name("backend", planned.backend))

    @property
    def state(self) -> ConformanceSession:
        return _state(self.config)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.nodeid

    def runtest(self) -> None:
        from .model import FAILING, Outcome

        state, opts, planned = self.state, self.state.options, self.planned
        kept: dict[str, Result] = {}  # by instance: a result is recorded once
        last: list[Result] = []
        failing = False

        def judge(instance: Any) -> None:
            nonlocal last, failing
            last = []
            try:
                last = state.judge(instance, planned)
            except BaseException:
                failing = True  # whatever Hypothesis tries after this is shrinking
                raise
            bad = next((r for r in last if r.outcome in FAILING), None)
            if bad is None:
                if not failing:  # drawn, not a shrink candidate
                    kept.update((r.case_id, r) for r in last)
                return
            failing = True
            raise ConformanceFailure(failure_text(bad, opts, state.rerun_command(self.nodeid)))

        try:
            with _quiet_torch_trace():
                if planned.case.prebuilt is not None:  # fixed data sets: nothing to draw or shrink
                    from .generate import prebuilt_instances

                    for instance in prebuilt_instances(planned.case, seed=opts.seed, max_examples=opts.max_examples):
                        judge(instance)
                else:
                    self._hunt(judge, opts)
        finally:
            if failing:
                kept.update((r.case_id, r) for r in last)  # the minimal instance, judged last
            results = list(kept.values())
            if results:
                state.record(results)
            self.user_properties.extend(item_properties(results, state.versions()[planned.backend]))
        xfails = [r for r in results if r.outcome is Outcome.XFAIL]
        if xfails:
            waiver = xfails[0].waiver or {}
            pytest.xfail(f"{waiver.get('reason', 'expected failure')} {waiver.get('link', '')}".strip())

    def _hunt(self, judge: Callable[[Any], None], opts: RunOptions) -> None:
        """Hypothesis draws instances until one fails, then shrinks it to a minimal one."""
        from hypothesis import given
        from hypothesis import seed as hypothesis_seed
        from hypothesis import strategies as st

        from .generate import case_seed, draw_one, generation_settings

        case = self.planned.case

        @generation_settings(opts.max_examples, shrink=True)
        @hypothesis_seed(case_seed(opts.seed, case))
        @given(st.data())
        def check(data: Any) -> None:
            judge(draw_one(case, data, seed=opts.seed, special_values=opts.special_values))

        check()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ConformanceFailure):
            notes = "\n".join(getattr(excinfo.value, "__notes__", []))
            return f"{excinfo.value}\n{notes}".rstrip()
        return str(super().repr_failure(excinfo))


@contextlib.contextmanager
def _quiet_torch_trace() -> Iterator[None]:
    """Keep torch's structured-trace records out of pytest's log capture while an item runs.

    torch writes them at DEBUG for its own handler (TORCH_TRACE), and the
    dynamo exporter lets them propagate: every failure's report would end in
    thousands of empty `torch.__trace` lines. Its handler still gets them.
    """
    log = logging.getLogger("torch.__trace")
    was = log.propagate
    log.propagate = False
    try:
        yield
    finally:
        log.propagate = was


class ConformanceFailure(AssertionError):
    """A case instance that a backend got wrong; Hypothesis shrinks it before it is shown."""


def item_properties(results: Sequence[Result], backend_version: str) -> list[tuple[str, object]]:
    """An item's JUnit properties: its outcome and metrics, and the finding behind a failure.

    The headline result is the failing (or waived) one where there is one,
    else the one furthest from the truth. Its finding is the one the item's
    own results show: the session's summary, which sees every backend, can
    put a cause that several backends share on the case, spec or exporter
    instead, under that finding's id.
    """
    from .findings import cluster, finding_of, result_key
    from .model import FAILING, Outcome

    props: list[tuple[str, object]] = [("backend_version", backend_version), ("instances", len(results))]
    if not results:
        return props
    failing = [r for r in results if r.outcome in FAILING or r.outcome is Outcome.XFAIL]
    measured = [r for r in results if r.measured]
    headline = failing[-1] if failing else max(measured, key=lambda r: r.metrics.max_ulp, default=results[0])
    props.append(("outcome", str(headline.outcome)))
    props.append(("case_id", headline.case_id))
    if headline.measured:
        m = headline.metrics
        props += [("max_abs_error", m.max_abs_error), ("max_rel_error", m.max_rel_error), ("max_ulp", m.max_ulp)]
    if failing:
        finding = finding_of(cluster(results)).get(result_key(headline))
        if finding:
            props.append(("finding", finding))
    return props


def failure_text(result: Result, opts: RunOptions, rerun: str = "") -> str:
    m = result.metrics
    lines = [
        f"{result.case_id} on {result.backend} ({result.exporter}, opset {result.opset}): {result.outcome}",
        f"drawn: {result.params}",
    ]
    if m.elements:
        lines.append(
            f"metrics: max abs {m.max_abs_error:.3g}, max rel {m.max_rel_error:.3g}, max {m.max_ulp:g} ulp, "
            f"{m.fraction_off:.1%} of {m.elements} elements off"
        )
    if m.worst_index or m.worst_expected is not None:
        where = f"output[{m.worst_output}]{list(m.worst_index)}"
        lines.append(f"worst element {where}: expected {m.worst_expected!r}, got {m.worst_actual!r}")
    if result.message:
        lines.append(f"message: {result.message[:1000]}")
    from .report import reproduce_command

    lines.append(f"reproduce: {reproduce_command(result, opts.to_dict())}")
    if rerun:
        lines.append(f"rerun this item: {rerun}")
    return "\n".join(lines)


# ------------------------------------------------------------------ fixture


@pytest.fixture
def conformance_check(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """Check a model on every backend and assert it matches torch; returns the CheckResult.

    Backends and exporters default to the session's --conformance-backends and
    --conformance-exporters when given.
    """

    def check(model: Any, example_inputs: Sequence[Any], **kwargs: Any) -> Any:
        __tracebackhide__ = True
        from .check import check_model

        config = request.config
        kwargs.setdefault("backends", _option(config, "conformance_backends"))
        kwargs.setdefault("exporters", _option(config, "conformance_exporters"))
        result = check_model(model, example_inputs, **kwargs)
        result.assert_ok()
        return result

    yield check
