"""The HTML report in a real browser: Debian's headless chromium, driven over the DevTools protocol.

The protocol runs over a pipe (`--remote-debugging-pipe`: commands on fd 3,
replies on fd 4, NUL-separated JSON), so no port, no websocket library and
no network are involved. The test data is written as real rows into a real
store, including backend messages that try to run script.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.model import Metrics, Outcome, Result
from conformance.report import write_reports
from conformance.store import Store

from .conftest import make_result

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
if CHROMIUM is None and os.environ.get("CI"):
    raise RuntimeError("CI must run the browser tests: scripts/setup installs Debian's `chromium`")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium on PATH (scripts/setup installs Debian's `chromium`; or set CONFORMANCE_CHROMIUM)",
)

#: Script that a hostile backend message tries to run; none of it may take effect.
ATTACKS = (
    "<script>document.title='pwned';window.__pwned=1</script>",
    "</script><script>window.__pwned=2</script>",
    '<img src=x onerror="window.__pwned=3">',
    '"><svg onload=window.__pwned=4>',
)


def _high_fd(fd: int) -> int:
    import fcntl

    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class Browser:
    """A headless chromium and a tiny DevTools-protocol client over its pipe."""

    def __init__(self, executable: str, profile: Path) -> None:
        # The protocol wants commands on fd 3 and replies on fd 4. The pipe ends are first
        # moved above 9 so the redirections below (bash: dash takes one-digit fds only) cannot clobber one another.
        cmd_read, self._cmd_write = (_high_fd(fd) for fd in os.pipe())
        self._reply_read, reply_write = (_high_fd(fd) for fd in os.pipe())
        args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            "about:blank",
        ]
        wire = f'exec "$0" "$@" 3<&{cmd_read} 4>&{reply_write} {cmd_read}<&- {reply_write}>&-'
        self.proc = subprocess.Popen(
            [shutil.which("bash") or "/bin/bash", "-c", wire, executable, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(cmd_read, reply_write),
        )
        os.close(cmd_read)
        os.close(reply_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: bool = True) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._cmd_write, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read(timeout=30)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def _read(self, timeout: float) -> dict[str, Any]:
        import select

        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._reply_read], [], [], left)[0]:
                raise TimeoutError("chromium did not answer within the timeout")
            chunk = os.read(self._reply_read, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def wait_event(self, method: str, timeout: float = 30) -> dict[str, Any]:
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            e = self._read(deadline - time.monotonic())
            if e.get("method") == method:
                return e
            self.events.append(e)
        raise TimeoutError(f"no {method} within {timeout}s")

    def open(self, url: str) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")

    def eval(self, expression: str) -> Any:
        reply = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in reply:
            raise AssertionError(f"page script {expression!r} threw: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def type_into(self, selector: str, text: str) -> None:
        """Focus an input and type, as a user would (real input events)."""
        assert self.eval(
            f"(function(){{var e=document.querySelector({json.dumps(selector)}); e.focus(); return !!e}})()"
        )
        self.send("Input.insertText", {"text": text})

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and log errors seen so far."""
        out = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(json.dumps(params.get("exceptionDetails", {}))[:500])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
                out.append(json.dumps(params.get("args", []))[:500])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
                out.append(params["entry"].get("text", ""))
        return out

    def requested_urls(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def screenshot(self, path: Path) -> None:
        import base64

        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1400, "height": 1800, "deviceScaleFactor": 1, "mobile": False},
        )
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.send("Browser.close", session=False)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd_write)
        os.close(self._reply_read)


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
        write_reports(store, "r1", out, ("html",))
    return out / "report.html"


@pytest.fixture(scope="module")
def page(report: Path) -> Iterator[Browser]:
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        browser = Browser(CHROMIUM, Path(profile))
        try:
            browser.open(report.as_uri())
            yield browser
        finally:
            browser.close()


def test_page_loads_without_console_errors_or_network(page: Browser) -> None:
    assert page.eval("document.documentElement.getAttribute('data-ready')") == "1", "the page's script did not finish"
    assert page.errors() == [], f"console errors while loading the report: {page.errors()}"
    remote = [u for u in page.requested_urls() if not u.startswith(("file:", "data:"))]
    assert remote == [], f"the report must be self-contained, but it requested {remote}"


def test_matrix_renders_backend_rows_and_category_columns(page: Browser) -> None:
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


def test_filter_narrows_the_failures_list(page: Browser) -> None:
    visible = "Array.from(document.querySelectorAll('#failures tbody tr')).filter(r => !r.hidden).length"
    assert page.eval(visible) == 4
    page.type_into("#failures-filter", "crash")
    assert page.eval(visible) == 1, "typing 'crash' should leave only the crashed result"
    assert page.eval("document.getElementById('failures-count').textContent") == "1 of 4 rows"
    page.eval("(function(){var e=document.getElementById('failures-filter'); e.select(); return 1})()")
    page.send("Input.insertText", {"text": "alpha math"})
    assert page.eval(visible) == 2, "all words must match: alpha's exp and log"
    page.eval(
        "(function(){var e=document.getElementById('failures-filter'); e.value=''; "
        "e.dispatchEvent(new Event('input')); return 1})()"
    )
    assert page.eval(visible) == 4


def test_hostile_backend_messages_show_as_text_and_run_nothing(page: Browser) -> None:
    assert page.eval("window.__pwned === undefined"), f"injected script ran: __pwned={page.eval('window.__pwned')}"
    assert page.eval("document.title").startswith("ONNX conformance"), page.eval("document.title")
    text = page.eval("document.getElementById('failures').textContent")
    for attack in ATTACKS:
        assert attack in text, f"message {attack!r} should be shown verbatim as text"
    # no element was created from a message
    assert page.eval("document.querySelectorAll('#failures img, #failures svg, #failures script').length") == 0
    # opening a grid cell renders its instances, messages included, as text too
    page.eval('document.querySelector(\'#grid td.cell[data-case="math/exp"][data-backend="beta"]\').click()')
    detail = page.eval(
        "document.getElementById('cell-detail').hidden ? null : document.getElementById('cell-table').textContent"
    )
    assert detail is not None and ATTACKS[1] in detail, detail
    assert page.eval("window.__pwned === undefined")
    assert page.errors() == [], page.errors()


def test_grid_cell_opens_its_instances_and_metrics(page: Browser) -> None:
    page.eval('document.querySelector(\'#grid td.cell[data-case="math/exp"][data-backend="alpha"]\').click()')
    title = page.eval("document.getElementById('cell-title').textContent")
    assert title == "math/exp on alpha: 1 results", title
    cells = page.eval("Array.from(document.querySelectorAll('#cell-table tbody td')).map(td => td.textContent)")
    assert "math/exp[b2]" in cells and "mismatch" in cells and "1e+06" in cells, cells


def test_tables_sort_by_clicking_a_header(page: Browser) -> None:
    first = "document.querySelector('#failures tbody tr').cells[4].textContent.trim()"
    page.eval("document.querySelectorAll('#failures thead th')[4].click()")
    ascending = page.eval(first)
    page.eval("document.querySelectorAll('#failures thead th')[4].click()")
    descending = page.eval(first)
    assert (ascending, descending) == ("crash", "special"), (ascending, descending)


def test_the_page_opens_with_findings_that_filter_and_link_from_failures(page: Browser) -> None:
    top = page.eval("document.querySelector('main section').id")
    assert top == "findings-section", f"the report must open with the findings, not {top}"
    rows = "Array.from(document.querySelectorAll('#findings tbody tr')).filter(r => !r.hidden).length"
    total = page.eval(rows)
    assert total == 4, "one finding per failing result here: every cause is different"
    page.type_into("#findings-filter", "crash")
    assert page.eval(rows) == 1
    link = page.eval("document.querySelector('#failures tbody tr a').getAttribute('href')")
    assert link.startswith("#F") and page.eval(f"document.getElementById('{link[1:]}') !== null"), link
    page.eval(
        "(function(){var e=document.getElementById('findings-filter'); e.value=''; "
        "e.dispatchEvent(new Event('input')); return 1})()"
    )
    assert page.eval(rows) == total
