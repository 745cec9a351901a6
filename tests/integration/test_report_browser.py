"""The report opens in headless Chromium: every figure decodes, no console error, a screenshot.

Needs /usr/bin/chromium (CI installs it with scripts/ci-system-deps.sh); skipped without it.
The screenshot is kept at test-artifacts/report.png for a human to look at.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from loralens.report import write_report
from tests.unit.report._produced import produce
from tests.unit.report._synthetic import minimal_dict, synthetic_dict

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
WIDTH = 1280
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
)

# Injected before the report's Content-Security-Policy, so the policy (no scripts) does not block
# it; it records load errors, CSP violations and each image's decoded width into a <pre>.
PROBE = """<script>(function () {
  var errors = [];
  var original = console.error;
  console.error = function () {
    errors.push(Array.prototype.join.call(arguments, " ")); original.apply(console, arguments);
  };
  window.addEventListener("error", function (e) {
    errors.push("error: " + (e.message || (e.target && (e.target.src || "").slice(0, 80))));
  }, true);
  document.addEventListener("securitypolicyviolation", function (e) {
    errors.push("csp: " + e.violatedDirective + " " + e.blockedURI);
  });
  window.addEventListener("load", function () {
    var imgs = Array.prototype.slice.call(document.images);
    var out = {
      widths: imgs.map(function (i) { return i.complete ? i.naturalWidth : 0; }),
      errors: errors, height: document.documentElement.scrollHeight,
      sections: Array.prototype.map.call(document.querySelectorAll("section[id]"),
                                         function (s) { return s.id; })
    };
    var pre = document.createElement("pre");
    pre.id = "probe"; pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
  });
})();</script>"""


def _chromium(url: str, user_data: Path, *extra: str) -> subprocess.CompletedProcess:
    """Run headless Chromium once on `url`."""
    cmd = [str(CHROMIUM), *FLAGS, f"--user-data-dir={user_data}", *extra, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _console_lines(stderr: str) -> list[str]:
    """Messages the page wrote to the console (Chromium logs them as CONSOLE lines)."""
    return [line for line in stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]


def _probe(report: Path, tmp: Path) -> tuple[dict, list[str]]:
    """Load a probed copy of the report; return the probe's findings and console lines."""
    html = report.read_text(encoding="utf-8")
    probed = tmp / "probed.html"
    probed.write_text(html.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    proc = _chromium(
        probed.as_uri(), tmp / "profile-probe", "--virtual-time-budget=10000", "--dump-dom"
    )
    match = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"probe did not report (rc {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&")), (
        _console_lines(proc.stderr)
    )


def _screenshot(report: Path, tmp: Path, height: int, target: Path) -> None:
    """A full-page screenshot of the unmodified report."""
    target.parent.mkdir(parents=True, exist_ok=True)
    size = f"--window-size={WIDTH},{min(max(height, 600), 16000)}"
    proc = _chromium(report.as_uri(), tmp / "profile-shot", size, f"--screenshot={target}")
    assert target.is_file() and target.stat().st_size > 10_000, proc.stderr[-2000:]
    assert not _console_lines(proc.stderr)


@pytest.fixture(scope="module")
def chromium() -> Path:
    """The Chromium binary, or a skip saying how to get it."""
    if not CHROMIUM.is_file():
        pytest.skip("/usr/bin/chromium not installed: run scripts/ci-system-deps.sh")
    return CHROMIUM


@pytest.mark.parametrize("name", ["full", "minimal"])
def test_report_renders_in_chromium(chromium: Path, tmp_path: Path, name: str) -> None:
    results = produce(tmp_path / "study", synthetic_dict()) if name == "full" else minimal_dict()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "results.json").write_text(json.dumps(results), encoding="utf-8")
    written = write_report(run_dir)
    n_figures = sum(1 for k in written if k.startswith("figures/"))

    probe, console = _probe(run_dir / "report.html", tmp_path)
    assert len(probe["widths"]) == n_figures
    assert all(w > 0 for w in probe["widths"]), probe["widths"]
    assert probe["errors"] == [] and console == [], (probe["errors"], console)
    for section in ("summary", "caveats", "questions", "setup", "data", "results", "hypotheses"):
        assert section in probe["sections"]

    target = ARTIFACTS / ("report.png" if name == "full" else "report-minimal.png")
    _screenshot(run_dir / "report.html", tmp_path, probe["height"], target)
    if name == "full":
        shutil.copy(run_dir / "report.html", ARTIFACTS / "report.html")
