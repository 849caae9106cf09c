"""Every library and run notebook is a test: executed top to bottom by nbdev's own engine.

Cells flagged with a `tst_flags` flag (`slow`, `cuda`) are skipped unless the flag is listed in
TELEPATHY_TEST_FLAGS (e.g. `TELEPATHY_TEST_FLAGS=slow pytest tests/test_notebooks.py`).
"""
import os
from configparser import ConfigParser
from pathlib import Path
import pytest
import nbdev.test as nbtest

ROOT = Path(__file__).resolve().parents[1]
_cfg = ConfigParser(delimiters=["="]); _cfg.read(ROOT / "settings.ini")
TST_FLAGS = _cfg["DEFAULT"]["tst_flags"].split()
FORCE = os.environ.get("TELEPATHY_TEST_FLAGS", "").split()
NOTEBOOKS = sorted((ROOT / "nbs").glob("*.ipynb")) + sorted((ROOT / "nbs" / "runs").glob("*.ipynb"))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[str(p.relative_to(ROOT / "nbs")) for p in NOTEBOOKS])
def test_notebook(nb, tmp_path, monkeypatch):
    monkeypatch.setenv("TELEPATHY_RUNS_DIR", str(tmp_path / "papermill_runs"))
    ok, secs = nbtest.test_nb(nb, skip_flags=TST_FLAGS, force_flags=FORCE, basepath=str(ROOT))
    assert ok, f"{nb.name} failed (traceback above, on stderr)"
