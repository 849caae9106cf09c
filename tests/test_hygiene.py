"""Repository rules that keep notebooks usable by papermill and nbdev."""
import ast
import json
import re
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
    assert first.startswith("#| default_exp") or nb.stem.endswith("_walkthrough"), f"{nb.name}: first cell must be #| default_exp"
    assert "nbdev_export()" in "".join(d["cells"][-1]["source"]), f"{nb.name}: last cell must call nbdev_export()"


LIBRARY = sorted((ROOT / "nbs").glob("[0-9]*.ipynb"))


def _exported_module(nb: Path) -> str | None:
    m = re.match(r"#\| default_exp (\w+)", "".join(json.loads(nb.read_text())["cells"][0]["source"]))
    return m[1] if m else None


def _imported_modules(nb: Path) -> set[str]:
    "telepathy_nb modules a notebook imports anywhere (export and test cells alike)."
    code = "\n".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code")
    return set(re.findall(r"(?:from|import) telepathy_nb\.(\w+)", code))


def test_notebooks_read_in_order_none_imports_a_later_one():
    "A newcomer reads nbs/ in order: every module a notebook imports is exported by an earlier notebook (or itself)."
    order = {m: i for i, nb in enumerate(LIBRARY) if (m := _exported_module(nb))}
    assert len(order) == len([nb for nb in LIBRARY if _exported_module(nb)]), "two notebooks export the same module"
    late = {nb.stem: sorted(m for m in _imported_modules(nb) if order.get(m, -1) > i) for i, nb in enumerate(LIBRARY)}
    assert not any(late.values()), {k: v for k, v in late.items() if v}
    unknown = {nb.stem: sorted(_imported_modules(nb) - set(order)) for nb in LIBRARY}
    assert not any(unknown.values()), {k: v for k, v in unknown.items() if v}


@pytest.mark.parametrize("nb", TEMPLATES, ids=[p.stem for p in TEMPLATES])
def test_template_parameters_match_run_config(nb):
    "A template parameter that names a RunConfig field takes the field's type (or None: the preset's value); that\n    train_bridge declares every field is tests/test_runs.py::test_train_template_declares_every_config_field."
    from telepathy_nb.config import RunConfig
    from telepathy_nb.runs import template_parameters
    fields = {f: type(v.default) for f, v in RunConfig.__dataclass_fields__.items()}
    params = {k: ast.literal_eval(p["default"]) for k, p in template_parameters(nb.stem).items()}   # papermill gives source text
    wrong = {k: (type(v).__name__, fields[k].__name__) for k, v in params.items()
             if k in fields and v is not None and type(v) is not fields[k] and not (fields[k] is float and type(v) is int)}
    assert not wrong, f"{nb.name}: parameter types differ from RunConfig's (template, RunConfig): {wrong}"
