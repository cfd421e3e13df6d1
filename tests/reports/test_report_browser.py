"""The HTML report in headless Chromium: every plot is shown and the console stays quiet.

A probe script is injected into a copy of the page: it records ``console.error``/``console.warn``
calls, uncaught errors and, after the load event, each image's ``naturalWidth`` into the DOM, which
``--dump-dom`` prints. The report itself has no scripts, so Chromium's own console log
(``--enable-logging=stderr``) must have no ``CONSOLE`` line at all.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from cli import parse_specs
from costmodel.overview import overview
from costmodel.roofline import DEVICES
from reports.html import REPORT_PAGE, make_report

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium is not installed"),
]

PROBE_HEAD = """<script>
window.__problems = [];
for (const level of ["error", "warn"]) {
  const orig = console[level];
  console[level] = (...args) => { window.__problems.push(level + ": " + args.join(" "));
                                  orig.apply(console, args); };
}
window.addEventListener("error", e => window.__problems.push("error: " + (e.message ||
  (e.target && e.target.src ? "failed to load " + e.target.src.slice(0, 60) : "?"))), true);
window.addEventListener("unhandledrejection", e => window.__problems.push("rejection"));
</script>"""
PROBE_TAIL = """<script>
window.addEventListener("load", () => {
  const out = document.createElement("pre");
  out.id = "probe-result";
  out.textContent = JSON.stringify({
    images: [...document.images].map(i => [i.id, i.complete, i.naturalWidth, i.naturalHeight]),
    problems: window.__problems});
  document.body.appendChild(out);
});
</script>"""


def probe(page: Path) -> tuple[dict, list[str]]:  # type: ignore[type-arg]
    """Open ``page`` (with the probe injected) in headless Chromium; the probe's findings and the
    console lines Chromium logged."""
    text = page.read_text()
    text = text.replace("<head>", "<head>" + PROBE_HEAD, 1).replace("</body>", PROBE_TAIL + "</body>", 1)
    probed = page.with_name("probed.html")
    probed.write_text(text)
    with tempfile.TemporaryDirectory() as profile:
        run = subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--v=0",
                "--virtual-time-budget=5000",
                "--dump-dom",
                probed.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    match = re.search(r'<pre id="probe-result">(.*?)</pre>', run.stdout, re.S)
    assert match, f"no probe result; chromium said: {run.stderr[-2000:]}"
    found = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    return found, console


@pytest.fixture(scope="module")
def report_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "report"
    data = overview(
        parse_specs(["peleenet", "csppeleenet"]),
        device=DEVICES["jetson-nano"],
        gammas=[0.0, 0.25, 0.5, 0.75],
        growth_rates=[16, 32],
    )
    make_report(out, data, command="cspcost report")
    return out / REPORT_PAGE


def test_every_plot_is_shown_and_the_console_is_clean(report_page: Path) -> None:
    found, console = probe(report_page)
    ids = [img[0] for img in found["images"]]
    assert ids == ["plot-bottleneck", "plot-stages", "plot-gamma", "plot-scaling", "plot-roofline"]
    for ident, complete, width, height in found["images"]:
        assert complete and width > 300 and height > 200, ident
    assert found["problems"] == []
    assert console == []


def test_the_probe_sees_a_broken_plot_and_a_console_error(report_page: Path) -> None:
    # The check above must be able to fail: break one image and log an error, and it does.
    broken = report_page.with_name("broken.html")
    text = report_page.read_text()
    text = re.sub(r'(id="plot-stages"[^>]*src="data:image/png;base64,)[^"]{200}', r"\1AAAA", text)
    broken.write_text(text.replace("</body>", "<script>console.error('oops')</script></body>"))
    found, console = probe(broken)
    widths = {img[0]: img[2] for img in found["images"]}
    assert widths["plot-stages"] == 0 and widths["plot-bottleneck"] > 0
    assert "error: oops" in found["problems"]
    assert any("oops" in line for line in console)
