"""The HTML report in a real browser: Debian's headless chromium, driven by Playwright.

Playwright drives the system's chromium (`executable_path`): its own browser
downloads are never used, so no network is involved. The test data is
written as real rows into a real store, including backend messages that try
to run script. Page state is read with `page.evaluate` and locators, never
with `wait_for_function`: the report's CSP has no 'unsafe-eval', which that
needs.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.model import Metrics, Outcome, Result
from conformance.report import SIDECAR, write_reports
from conformance.store import Store

from .conftest import make_result, record_large_run

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None  # type: ignore[assignment]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    env = os.environ.get("CONFORMANCE_CHROMIUM")
    if env:
        return env
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


CHROMIUM = find_chromium()
if os.environ.get("CI") and (CHROMIUM is None or sync_playwright is None):
    raise RuntimeError(
        "CI must run the browser tests: scripts/setup installs Debian's `chromium` and the test extra playwright"
    )
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None,
    reason="no chromium on PATH or no playwright (scripts/setup installs both; or set CONFORMANCE_CHROMIUM)",
)

#: Script that a hostile backend message tries to run; none of it may take effect.
ATTACKS = (
    "<script>document.title='pwned';window.__pwned=1</script>",
    "</script><script>window.__pwned=2</script>",
    '<img src=x onerror="window.__pwned=3">',
    '"><svg onload=window.__pwned=4>',
)


@dataclass
class Opened:
    """A page of the report, with what it logged and requested since it started loading."""

    page: Page
    console: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def eval(self, expression: str) -> Any:
        return self.page.evaluate(expression)

    def errors(self) -> list[str]:
        return list(self.console)


def open_report(browser: Browser, path: Path) -> Opened:
    page = browser.new_page()
    opened = Opened(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "assert", "warning"):
            opened.console.append(f"{message.type}: {message.text}"[:500])

    def on_request(request: Request) -> None:
        opened.requests.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", lambda error: opened.console.append(f"uncaught: {error}"[:500]))
    page.on("request", on_request)
    page.goto(path.as_uri(), wait_until="load")
    return opened


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM is not None and sync_playwright is not None
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--disable-dev-shm-usage"])
        try:
            yield launched
        finally:
            launched.close()


def _result(case_id: str, backend: str, outcome: Outcome, *, message: str = "", **metrics: Any) -> Result:
    return make_result(
        case_id, outcome, backend=backend, message=message, metrics=Metrics(**metrics), params={"dtype": "float32"}
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser")
    rows = [
        _result("activation/relu[a1]", "alpha", Outcome.PASS, elements=4),
        _result("activation/relu[a1]", "beta", Outcome.PASS, elements=4, max_ulp=1.0, max_rel_error=1e-7),
        _result(
            "math/exp[b2]",
            "alpha",
            Outcome.MISMATCH,
            message=ATTACKS[0],
            elements=6,
            max_abs_error=0.5,
            max_rel_error=0.1,
            max_ulp=1e6,
            fraction_off=0.5,
            worst_index=(1, 2),
            worst_actual=1.5,
            worst_expected=1.0,
        ),
        _result("math/exp[b2]", "beta", Outcome.CRASH, message=ATTACKS[1]),
        _result("math/log[c3]", "alpha", Outcome.RUN_ERROR, message=ATTACKS[2]),
        _result("math/log[c3]", "beta", Outcome.UNSUPPORTED, message="no kernel for Log"),
        _result("shape/reshape[d4]", "alpha", Outcome.SPECIAL, message=ATTACKS[3], elements=3, special_mismatches=1),
        _result("shape/reshape[d4]", "beta", Outcome.PASS, elements=3),
    ]
    with Store(out / "s.sqlite", create=True) as store:
        store.begin_run("r1", "2026-01-01T00:00:00+00:00", seed=0, environment={"python": "3"}, options={})
        for r in rows:
            store.record(Result(**{**r.__dict__, "run_id": "r1"}))
        store.finish_run("r1", "2026-01-01T00:01:00+00:00")
        written = write_reports(store, "r1", out, ("html",))
    assert not (out / SIDECAR).exists() and set(written) == {"html"}, "a small report is one self-contained file"
    return out / "report.html"


@pytest.fixture(scope="module")
def page(browser: Browser, report: Path) -> Iterator[Opened]:
    opened = open_report(browser, report)
    yield opened
    opened.page.close()


def test_page_loads_without_console_errors_or_network(page: Opened) -> None:
    assert page.eval("document.documentElement.getAttribute('data-ready')") == "1", "the page's script did not finish"
    assert page.errors() == [], f"console errors while loading the report: {page.errors()}"
    remote = [u for u in page.requests if not u.startswith(("file:", "data:"))]
    assert remote == [], f"the report must be self-contained, but it requested {remote}"


def test_matrix_renders_backend_rows_and_category_columns(page: Opened) -> None:
    rows = page.eval("Array.from(document.querySelectorAll('#matrix tbody tr')).map(r => r.cells[0].textContent)")
    assert rows == ["alpha", "beta"], f"matrix rows should be the backends, got {rows}"
    heads = page.eval("Array.from(document.querySelectorAll('#matrix thead th')).map(h => h.textContent)")
    assert heads == ["backend", "activation", "math", "shape", "all"], heads
    # alpha: relu passed, exp/log/reshape failed -> math 0 of 2 ran
    math_alpha = page.eval("document.querySelector('#matrix tbody tr').cells[2].textContent")
    assert math_alpha == "0.0%", math_alpha
    # beta's math row: exp crashed, log unsupported (not counted as wrong) -> 0 of 1
    title = page.eval("document.querySelectorAll('#matrix tbody tr')[1].cells[2].title")
    assert title.startswith("0 passed of 1 run"), title


def test_filter_narrows_the_failures_list(page: Opened) -> None:
    visible = "Array.from(document.querySelectorAll('#failures tbody tr')).filter(r => !r.hidden).length"
    assert page.eval(visible) == 4
    box = page.page.locator("#failures-filter")
    box.press_sequentially("crash")  # key by key, as a user types: an input event each
    assert page.eval(visible) == 1, "typing 'crash' should leave only the crashed result"
    assert page.eval("document.getElementById('failures-count').textContent") == "1 of 4 rows"
    box.fill("alpha math")
    assert page.eval(visible) == 2, "all words must match: alpha's exp and log"
    box.fill("")
    assert page.eval(visible) == 4


def test_hostile_backend_messages_show_as_text_and_run_nothing(page: Opened) -> None:
    assert page.eval("window.__pwned === undefined"), f"injected script ran: __pwned={page.eval('window.__pwned')}"
    assert page.eval("document.title").startswith("ONNX conformance"), page.eval("document.title")
    text = page.eval("document.getElementById('failures').textContent")
    for attack in ATTACKS:
        assert attack in text, f"message {attack!r} should be shown verbatim as text"
    # no element was created from a message
    assert page.eval("document.querySelectorAll('#failures img, #failures svg, #failures script').length") == 0
    # opening a grid cell renders its instances, messages included, as text too
    page.page.click('#grid td.cell[data-case="math/exp"][data-backend="beta"]')
    detail = page.eval(
        "document.getElementById('cell-detail').hidden ? null : document.getElementById('cell-table').textContent"
    )
    assert detail is not None and ATTACKS[1] in detail, detail
    assert page.eval("window.__pwned === undefined")
    assert page.errors() == [], page.errors()


def test_grid_cell_opens_its_instances_and_metrics(page: Opened) -> None:
    page.page.click('#grid td.cell[data-case="math/exp"][data-backend="alpha"]')
    title = page.eval("document.getElementById('cell-title').textContent")
    assert title == "math/exp on alpha: 1 results", title
    cells = page.eval("Array.from(document.querySelectorAll('#cell-table tbody td')).map(td => td.textContent)")
    assert "math/exp[b2]" in cells and "mismatch" in cells and "1e+06" in cells, cells
    # a cell of a passing result: in a small report its row is in the page, nothing to load
    page.page.locator('#grid td.cell[data-case="activation/relu"][data-backend="beta"]').press("Enter")
    assert page.eval("document.getElementById('cell-status').hidden")
    cells = page.eval("Array.from(document.querySelectorAll('#cell-table tbody td')).map(td => td.textContent)")
    assert "activation/relu[a1]" in cells and "pass" in cells, cells


def test_tables_sort_by_clicking_a_header(page: Opened) -> None:
    first = "document.querySelector('#failures tbody tr').cells[4].textContent.trim()"
    header = page.page.locator("#failures thead th").nth(4)
    header.click()
    ascending = page.eval(first)
    header.click()
    descending = page.eval(first)
    assert (ascending, descending) == ("crash", "special"), (ascending, descending)


def test_the_page_opens_with_findings_that_filter_and_link_from_failures(page: Opened) -> None:
    top = page.eval("document.querySelector('main section').id")
    assert top == "findings-section", f"the report must open with the findings, not {top}"
    rows = "Array.from(document.querySelectorAll('#findings tbody tr')).filter(r => !r.hidden).length"
    total = page.eval(rows)
    assert total == 4, "one finding per failing result here: every cause is different"
    page.page.locator("#findings-filter").fill("crash")
    assert page.eval(rows) == 1
    link = page.eval("document.querySelector('#failures tbody tr a').getAttribute('href')")
    assert link.startswith("#F") and page.eval(f"document.getElementById('{link[1:]}') !== null"), link
    page.page.locator("#findings-filter").fill("")
    assert page.eval(rows) == total


# --------------------------------------------------------------------------- a large run: rows on demand


@pytest.fixture(scope="module")
def large_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """5,000 results: past the page's threshold, so passing, skipped and unsupported rows go to the sidecar."""
    out = tmp_path_factory.mktemp("large")
    with Store(out / "s.sqlite", create=True) as store:
        facts = record_large_run(store, "big", cases=100, instances=10)
        written = write_reports(store, "big", out / "report", ("html",))
    assert written["html-data"] == out / "report" / SIDECAR
    return out / "report" / "report.html", facts


def _cell(case: str, backend: str) -> str:
    return f'#grid td.cell[data-case="{case}"][data-backend="{backend}"]'


def test_a_cell_whose_rows_are_in_the_sidecar_opens_them_on_demand(
    browser: Browser, large_report: tuple[Path, dict[str, Any]]
) -> None:
    html, facts = large_report
    opened = open_report(browser, html)
    page = opened.page
    try:
        assert opened.eval("document.documentElement.getAttribute('data-ready')") == "1"
        assert not any(u.endswith(SIDECAR) for u in opened.requests), "the sidecar waits until a cell needs it"
        case, backend, total = facts["all_pass_cell"]
        page.click(_cell(case, backend))
        rows = page.locator("#cell-table tbody tr")
        expect(rows).to_have_count(total)
        expect(page.locator("#cell-status")).to_be_hidden()
        assert (
            opened.eval("document.getElementById('cell-title').textContent") == f"{case} on {backend}: {total} results"
        )
        outcomes = opened.eval("Array.from(document.querySelectorAll('#cell-table tbody tr')).map(r => r.className)")
        assert set(outcomes) == {"o-pass"}, outcomes
        assert sum(u.endswith(SIDECAR) for u in opened.requests) == 1

        # a cell with failures (in the page) and passes (from the sidecar) shows all of them, in run order
        case, backend, total, failing = facts["mixed_cell"]
        page.click(_cell(case, backend))
        expect(rows).to_have_count(total)
        ids = opened.eval(
            "Array.from(document.querySelectorAll('#cell-table tbody tr')).map(r => r.cells[0].textContent)"
        )
        assert ids == sorted(ids, key=lambda i: int(i.rsplit("[", 1)[1].rstrip("]"))), ids
        assert failing in ids
        assert sum(u.endswith(SIDECAR) for u in opened.requests) == 1, "the sidecar is loaded once"
        assert opened.errors() == [], opened.errors()
    finally:
        page.close()


def test_without_its_sidecar_the_page_still_shows_failures_and_says_where_the_rest_are(
    browser: Browser, large_report: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    html, facts = large_report
    alone = tmp_path / "report.html"
    shutil.copyfile(html, alone)
    opened = open_report(browser, alone)
    page = opened.page
    try:
        case, backend, total, failing = facts["mixed_cell"]
        page.click(_cell(case, backend))
        status = page.locator("#cell-status")
        expect(status).to_contain_text("could not be loaded")
        ids = opened.eval(
            "Array.from(document.querySelectorAll('#cell-table tbody tr')).map(r => r.cells[0].textContent)"
        )
        assert failing in ids and len(ids) < total, ids
        assert not [e for e in opened.errors() if e.startswith("uncaught")], opened.errors()

        # a sidecar from another run is refused, not shown as this run's rows
        (tmp_path / SIDECAR).write_text('window.conformanceReportData = {"run": "other", "columns": [], "rows": []};\n')
        page.reload(wait_until="load")
        page.click(_cell(case, backend))
        expect(status).to_contain_text("belongs to run other, not to run big")
    finally:
        page.close()
