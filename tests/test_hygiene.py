"""Repository rules that keep notebooks usable by papermill and nbdev."""
import json
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = sorted((ROOT / "nbs" / "runs").glob("*.ipynb"))


def test_there_are_run_templates():
    assert {"train_bridge", "eval_bridge"} <= {p.stem for p in TEMPLATES}


@pytest.mark.parametrize("nb", TEMPLATES, ids=[p.stem for p in TEMPLATES])
def test_template_has_parameters_and_python3_kernel(nb):
    d = json.loads(nb.read_text())
    tagged = [c for c in d["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{nb.name}: needs exactly one cell tagged 'parameters', has {len(tagged)}"
    first_code = next(c for c in d["cells"] if c["cell_type"] == "code")
    assert first_code is tagged[0], f"{nb.name}: the parameters cell must be the first code cell"
    assert d["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("nb", sorted((ROOT / "nbs").glob("[0-9]*.ipynb")), ids=lambda p: p.stem)
def test_library_notebook_shape(nb):
    d = json.loads(nb.read_text())
    first = "".join(d["cells"][0]["source"])
    assert first.startswith("#| default_exp") or nb.stem.startswith("10_"), f"{nb.name}: first cell must be #| default_exp"
    assert "nbdev_export()" in "".join(d["cells"][-1]["source"]), f"{nb.name}: last cell must call nbdev_export()"
