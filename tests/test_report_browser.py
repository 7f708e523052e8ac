"""The HTML report in a real browser (headless Chromium): every table and image renders, nothing fails.

Skipped, saying why, where no Chromium is installed (Debian: ``apt-get install -y chromium``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from wekawbc.evaluation import evaluate
from wekawbc.report.runfolder import write_run_folder

from test_report_runfolder import FIVE, synthetic_predictions

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install -y chromium)")


def chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
             "--enable-logging=stderr", "--v=0"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture(scope="module")
def report_html(tmp_path_factory):
    predictions = synthetic_predictions(FIVE, [111, 46, 31, 8, 5], 2.0, seed=21)
    out = write_run_folder(tmp_path_factory.mktemp("browser") / "run", evaluate(predictions),
                           settings={"seed": 1}, n_bootstrap=100)
    return out / "report.html"


def test_every_table_and_image_renders(report_html, tmp_path):
    source = report_html.read_text()
    result = chromium(tmp_path, "--virtual-time-budget=2000", "--dump-dom", report_html.as_uri())
    dom = result.stdout
    images = re.findall(r"<img\b[^>]*>", dom)
    assert len(images) == source.count("<img ") == 6
    widths = [int(w) for w in re.findall(r'data-natural-width="(\d+)"', dom)]
    assert len(widths) == len(images) and min(widths) > 0, widths
    assert 'data-broken-images="0"' in dom
    assert dom.count("<table") == source.count("<table") >= 6
    for table in re.findall(r"<table.*?</table>", dom, flags=re.S):
        assert re.search(r"<td[^>]*>[^<]+</td>", table), "every table has filled cells"
    assert not re.search(r"Failed to load resource|net::ERR_", result.stderr)


def test_screenshot(report_html, tmp_path):
    shot = tmp_path / "report.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", "--hide-scrollbars", report_html.as_uri())
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1280, 2000)
        # Not blank: the page has text and figures, so many distinct colours.
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 50
