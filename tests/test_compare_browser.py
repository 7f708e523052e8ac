"""The comparison page with 8 real Weka runs, and the overlay contact sheet, in a real browser.

Features of 40 real ``pbc/`` images (8 per class, ``wekawbc extract --overlays``), 8 Weka classifiers
cross-validated by real Weka, ``wekawbc compare alkrimi2023`` on the 8 run folders; then headless
Chromium renders the page at 1280 px: a script appended to a copy of the page writes the layout's
measurements into the DOM (``--dump-dom``), and ``--screenshot`` keeps what a reader sees (the paths
are printed; they stay under pytest's tmp_path). No column may be clipped: every header lies inside
its table's scroll container, the page itself never scrolls sideways, and a table wider than the
window scrolls inside its container.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from wekawbc.cli import main

from test_report_browser import CHROMIUM, chromium

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install -y chromium)")

PER_CLASS = 8
CLASSIFIERS = ("weka.rules.ZeroR", "weka.rules.OneR", "weka.trees.J48", "weka.bayes.NaiveBayes",
               "weka.functions.Logistic", "weka.functions.SMO", "weka.lazy.IBk", "weka.trees.RandomForest -I 20")

# Written into the DOM after layout: per scroll container, its box, scroll width and overflow style, and
# every header cell's box; the page's own scroll width; each heatmap's box.
_MEASURE = """<script>window.addEventListener('load',function(){
var out={viewport:window.innerWidth,page:document.documentElement.scrollWidth,tables:[],heatmaps:[]};
document.querySelectorAll('.wide-table').forEach(function(c){var r=c.getBoundingClientRect();
 var t={left:r.left,right:r.right,client:c.clientWidth,scroll:c.scrollWidth,overflow:getComputedStyle(c).overflowX,
 headers:[]};
 c.querySelectorAll('thead th').forEach(function(h){var b=h.getBoundingClientRect();
  t.headers.push({text:h.textContent,left:b.left,right:b.right,clipped:h.scrollWidth>h.clientWidth+1});});
 var rows=[].map.call(c.querySelectorAll('tbody tr'),function(r){return r.getBoundingClientRect().height;});
 var td=c.querySelector('tbody td');t.css=c.querySelector('table').className;t.maxRow=Math.max.apply(null,rows);
 t.line=td?parseFloat(getComputedStyle(td).lineHeight):0;
 out.tables.push(t);});
document.querySelectorAll('figure.heatmap').forEach(function(f){var b=f.getBoundingClientRect();
 out.heatmaps.push({left:b.left,right:b.right});});
var p=document.createElement('pre');p.id='measure';p.textContent=JSON.stringify(out);document.body.appendChild(p);});
</script>"""


@pytest.fixture(scope="module")
def extracted(datasets, tmp_path_factory):
    """``wekawbc extract --overlays`` on 8 images of each class of ``pbc/`` (an index of absolute paths)."""
    root = tmp_path_factory.mktemp("pbc8")
    with open(datasets / "pbc" / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    chosen = [row for label in sorted({r["label"] for r in rows}) for row in [r for r in rows if r["label"] == label][:PER_CLASS]]
    index = root / "data"
    index.mkdir()
    (index / "labels.csv").write_text("image,label\n" + "".join(
        f"{datasets / 'pbc' / row['image']},{row['label']}\n" for row in chosen))
    arff = root / "cells.arff"
    code = main(["extract", str(index), "--allow-outside", "-o", str(arff), "--overlays", str(root / "overlays")])
    assert code == 0
    return arff, root / "overlays"


@pytest.fixture(scope="module")
def comparison(extracted, jvm, tmp_path_factory):
    """Eight real Weka runs (5-fold cross-validation) and their comparison page."""
    from wekawbc.evaluation import evaluate
    from wekawbc.report.runfolder import write_run_folder
    from wekawbc.weka.run import run_classifier

    arff, _ = extracted
    root = tmp_path_factory.mktemp("runs8")
    folders = []
    for spec in CLASSIFIERS:
        classifier = spec.replace("weka.", "weka.classifiers.", 1)
        run = run_classifier(arff, classifier, folds=5, seed=1)
        folder = root / classifier.split()[0].rsplit(".", 1)[-1].lower()
        write_run_folder(folder, evaluate(run.predictions), settings={"classifier": run.classifier, "folds": 5},
                         weka_text=run.explorer_text(), seed=1, n_bootstrap=0, plots=False)
        folders.append(folder)
    out = root / "compare"
    assert main(["compare", "alkrimi2023", *map(str, folders), "-o", str(out)]) == 0
    return out / "compare_alkrimi2023_five.html", folders


def _measure(page: Path, tmp_path: Path, width: int = 1280) -> dict:
    probe = tmp_path / f"measure_{page.name}"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
    dom = chromium(tmp_path, "--virtual-time-budget=3000", f"--window-size={width},1600", "--dump-dom",
                   probe.as_uri()).stdout
    found = re.search(r'<pre id="measure">(.*?)</pre>', dom, flags=re.S)
    assert found, "the measuring script did not run"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                      .replace("&gt;", ">"))


def test_columns_are_named_by_classifier(comparison):
    page, _ = comparison
    data = json.loads(page.with_suffix(".json").read_text())
    assert [run["column"] for run in data["runs"]] == ["ZeroR", "OneR", "J48", "NaiveBayes", "Logistic", "SMO", "IBk",
                                                       "RandomForest"]
    html = page.read_text()
    assert "run 1" not in html and html.count('<figure class="heatmap">') == 9  # the paper's and the 8 runs'
    assert " %" in html and " pp" in html and "nan" not in html


@pytest.mark.parametrize("width", [1280, 800])
def test_no_column_is_clipped(comparison, tmp_path, width):
    page, _ = comparison
    measured = _measure(page, tmp_path, width)
    assert measured["page"] <= measured["viewport"], "the page scrolls sideways: something overflows the window"
    assert len(measured["tables"]) >= 5
    for table in measured["tables"]:
        headers = table["headers"]
        assert len(headers) == 3 + 8 + 1
        if table["scroll"] > table["client"]:
            assert table["overflow"] in ("auto", "scroll"), "a table wider than its container must scroll"
        for header in headers:
            assert table["left"] - 1 <= header["left"] and header["right"] <= table["left"] + table["scroll"] + 1, header
            assert not header["clipped"], header
    for box in measured["heatmaps"]:
        assert 0 <= box["left"] and box["right"] <= measured["viewport"], "a heatmap runs off the window"


def test_screenshots_are_kept(comparison, tmp_path):
    from PIL import Image

    page, _ = comparison
    for width in (1280, 800):
        shot = tmp_path / f"compare_8_runs_{width}.png"
        chromium(tmp_path, f"--screenshot={shot}", f"--window-size={width},1600", "--hide-scrollbars", page.as_uri())
        print(f"screenshot: {shot}")
        with Image.open(shot) as image:
            rgb = image.convert("RGB")
            assert rgb.size == (width, 1600)
            colours = rgb.getcolors(maxcolors=1 << 20) or []
            assert len(colours) > 50
            # The heatmaps' cells are drawn: shades of their blue (33, 102, 172) at several strengths.
            blues = {c for _, c in colours if c[2] > c[0] + 60 and c[2] > c[1] + 30}
            assert len(blues) >= 5


def test_overlay_contact_sheet(extracted, tmp_path):
    _, folder = extracted
    page = folder / "index.html"
    html = page.read_text()
    assert html.count("<img ") == 5 * PER_CLASS
    for label in ("basophil", "eosinophil", "lymphocyte", "monocyte", "neutrophil"):
        assert f"{label} ({PER_CLASS} images" in html
    assert re.search(r"lobes \d", html)
    assert sorted(p.name for p in (folder / "images").iterdir()) == sorted(p.name for p in (folder / "thumbs").iterdir())
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "temporary masks left behind"
    dom = chromium(tmp_path, "--virtual-time-budget=3000", "--dump-dom", page.as_uri()).stdout
    assert 'data-broken-images="0"' in dom
    widths = [int(w) for w in re.findall(r'data-natural-width="(\d+)"', dom)]
    assert len(widths) == 5 * PER_CLASS and min(widths) > 0
    shot = tmp_path / "overlays.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,1600", "--hide-scrollbars", page.as_uri())
    print(f"screenshot: {shot}")


@pytest.mark.parametrize("width", [1280, 800])
def test_experiment_page_with_8_schemes_fits_without_wrapping(tmp_path, width):
    from PIL import Image

    from test_report_pages import SCHEMES, experiment_page

    page = tmp_path / "experiment.html"
    page.write_text(experiment_page(), encoding="utf-8")
    measured = _measure(page, tmp_path, width)
    assert measured["page"] <= measured["viewport"]
    (table,) = measured["tables"]
    assert table["css"] == "experiment" and [h["text"] for h in table["headers"]] == ["Metric", *SCHEMES]
    for header in table["headers"]:
        assert table["left"] - 1 <= header["left"] and header["right"] <= table["left"] + table["scroll"] + 1, header
    if table["scroll"] > table["client"]:
        assert table["overflow"] in ("auto", "scroll")
    assert table["maxRow"] < 2 * table["line"], "a cell wraps onto a second line"
    shot = tmp_path / f"experiment_8_schemes_{width}.png"
    chromium(tmp_path, f"--screenshot={shot}", f"--window-size={width},900", "--hide-scrollbars", page.as_uri())
    print(f"screenshot: {shot}")
    with Image.open(shot) as image:
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 20
