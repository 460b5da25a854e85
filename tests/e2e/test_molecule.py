"""Every molecule scenario (real lab hosts over SSH), run as `molecule test -s <name>`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))


@pytest.mark.e2e
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario, tmp_path):
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
               ANSIBLE_FORCE_COLOR="0", PY_COLORS="0", NO_COLOR="1")
    log = tmp_path / ("molecule-%s.log" % scenario)
    with open(log, "w") as out:
        proc = subprocess.run([str(Path(sys.executable).parent / "molecule"), "test", "-s", scenario],
                              cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    text = log.read_text()
    (artifacts / log.name).write_text(text)
    assert proc.returncode == 0, "molecule test -s %s failed:\n%s" % (scenario, text[-6000:])
