"""ARFF/CSV writing, checked by Weka itself (the real JVM) and by pandas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from wekawbc.arff import weka_quote, write_arff, write_csv


@pytest.mark.parametrize("text, expected", [
    ("Nucleus_AreaShape_Area", "Nucleus_AreaShape_Area"),
    ("two words", "'two words'"),
    ("it's", "'it\\'s'"),
    ("50%", "'50\\%'"),
    ("a,b", "'a,b'"),
    ("?", "'?'"),
])
def test_weka_quote(text, expected):
    assert weka_quote(text) == expected


def _rows():
    return pd.DataFrame({
        "area": [10.0, 12.5, np.nan, 7.0, 11.0, 9.5],
        "odd name's %": [1.0, 2.0, 3.0, math.inf, 5.0, 6.0],
        "count": [1, 2, 3, 1, 2, 2],
        "class": ["neutrophil", "lymphocyte", None, "neutrophil", "monocyte", "neutrophil"],
    })


def test_arff_layout(tmp_path):
    path = write_arff(tmp_path / "out.arff", _rows(), ("neutrophil", "eosinophil", "lymphocyte", "monocyte"),
                      relation="wbc cells", comments=["source: here", "two\nlines"])
    text = path.read_text()
    lines = text.splitlines()
    assert lines[:3] == ["% source: here", "% two", "% lines"]
    assert "@relation 'wbc cells'" in lines
    assert lines.index("@attribute class {neutrophil,eosinophil,lymphocyte,monocyte}") == lines.index("@data") - 2
    data = lines[lines.index("@data") + 1:]
    assert data[0] == "10,1,1,neutrophil" and data[2] == "?,3,3,?" and data[3] == "7,?,1,neutrophil"
    assert not list(tmp_path.glob(".*tmp"))


def test_arff_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="platelet"):
        write_arff(tmp_path / "x.arff", [{"a": 1.0, "class": "platelet"}], ("neutrophil",), relation="r")
    with pytest.raises(ValueError, match="not numeric"):
        write_arff(tmp_path / "x.arff", [{"a": "text", "class": "neutrophil"}], ("neutrophil",), relation="r")
    assert not (tmp_path / "x.arff").exists()


def test_weka_loads_the_arff_and_j48_runs(tmp_path, jvm):
    from weka.classifiers import Classifier, Evaluation
    from weka.core.classes import Random
    from weka.core.converters import Loader

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"Nucleus area": rng.normal(size=60), "x%": rng.normal(size=60)})
    frame["class"] = np.where(frame["Nucleus area"] > 0, "granulocyte", "agranulocyte")
    frame.loc[3, "x%"] = np.nan
    path = write_arff(tmp_path / "w.arff", frame, ("granulocyte", "agranulocyte"), relation="it's a test")
    data = Loader(classname="weka.core.converters.ArffLoader").load_file(str(path))
    data.class_is_last()
    assert data.relationname == "it's a test"
    assert [data.attribute(i).name for i in range(3)] == ["Nucleus area", "x%", "class"]
    assert [data.class_attribute.value(i) for i in range(2)] == ["granulocyte", "agranulocyte"]
    assert data.num_instances == 60 and data.get_instance(3).is_missing(1)
    assert data.get_instance(0).get_value(0) == pytest.approx(frame.iloc[0, 0], rel=1e-12)
    evaluation = Evaluation(data)
    evaluation.crossvalidate_model(Classifier(classname="weka.classifiers.trees.J48"), data, 5, Random(1))
    assert evaluation.percent_correct > 90  # the class is a threshold on the first feature


def test_csv_round_trip(tmp_path):
    frame = _rows()
    back = pd.read_csv(write_csv(tmp_path / "t.csv", frame))
    assert list(back.columns) == list(frame.columns)
    assert back["area"].tolist()[:2] == [10.0, 12.5] and math.isnan(back["area"][2])
