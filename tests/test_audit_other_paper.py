"""The audit works on any paper file of the schema, not only the bundled one."""

from __future__ import annotations

import json

import numpy as np
from sklearn.metrics import cohen_kappa_score, f1_score

from wekawbc.cli import main
from wekawbc.papers import paper_from_dict
from wekawbc.papers.audit import audit_paper

MATRIX = [[40, 10], [5, 45]]  # rows actual: a, b


def _value(id, table, printed, value, decimals, unit, metric, **extra):
    return {"id": id, "table": table, "printed": printed, "value": value, "decimals": decimals, "unit": unit,
            "metric": metric, "task": "binary", **extra}


def small_paper() -> dict:
    y_true = np.repeat([0, 0, 1, 1], [40, 10, 5, 45])
    y_pred = np.repeat([0, 1, 0, 1], [40, 10, 5, 45])
    kappa = cohen_kappa_score(y_true, y_pred)  # 0.70
    f1 = f1_score(y_true, y_pred, average="weighted")  # 0.8496...
    values = [_value(f"t1.{a}.{p}", "Table 1", str(MATRIX[i][j]), MATRIX[i][j], 0, "count", "confusion_count",
                     **{"class": a, "predicted": p}, row=a, column=p)
              for i, a in enumerate("ab") for j, p in enumerate("ab")]
    values += [_value("abstract.accuracy", "Abstract", "85%", 85, 0, "percent", "accuracy"),
               _value("t2.kappa", "Table 2", f"{kappa + 0.1:.2f}", round(kappa + 0.1, 2), 2, "fraction", "kappa"),
               _value("t2.f", "Table 2", f"{f1:.3f}", round(f1, 3), 3, "fraction", "f_measure"),
               _value("t2.auc", "Table 2", "0.91", 0.91, 2, "fraction", "auc")]
    return {"schema": "wekawbc.paper", "schema_version": 1, "key": "small", "citation": "A small test paper.",
            "tasks": {"binary": {"labels": ["a", "b"]}},
            "tables": {"Table 1": {"confusion_matrix": {"task": "binary", "rows": "actual", "columns": "predicted"}},
                       "Table 2": {}, "Abstract": {}},
            "values": values}


def test_audit_of_another_paper():
    findings = {f.id: f for f in audit_paper(paper_from_dict(small_paper()))}
    assert findings["matrix:abstract.accuracy"].consistent is True  # 85 of 100
    assert findings["matrix:t2.kappa"].consistent is False  # printed 0.80, the matrix gives 0.70
    assert findings["matrix:t2.kappa"].recomputed == np.round(0.7, 6)
    assert findings["matrix:t2.f:weighted"].consistent is True
    assert findings["needs scores:t2.auc"].consistent is None
    # Balanced classes at accuracy <= 85.5%: chance agreement >= 0.5, so kappa <= (0.855 - 0.5) / 0.5 = 0.71.
    assert findings["bound:t2.kappa:accuracy"].consistent is False
    assert findings["bound:t2.kappa:accuracy"].recomputed == (0.855 - 0.5) / 0.5


def test_cli_audits_a_paper_file(tmp_path, capsys):
    path = tmp_path / "small.json"
    path.write_text(json.dumps(small_paper()))
    assert main(["audit", str(path), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["paper"] == "small" and document["counts"]["inconsistent"] == 2
