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


def test_lab_tools_live_in_experiments_and_use_public_names():
    "The lab's tools live in experiments/ (no scripts/ or benchmarks/ beside it) and import no private telepathy_nb name."
    root = Path(__file__).resolve().parents[1]
    assert not (root / "scripts").exists() and not (root / "benchmarks").exists()
    private = {}
    for f in sorted((root / "experiments").rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("telepathy_nb"):
                names = [a.name for a in node.names if a.name.startswith("_")]
                if names: private[str(f.relative_to(root))] = names
    assert not private, f"tools import private names (make them public in their notebook): {private}"


def _export_cells(nbs) -> list[list[str]]:
    "The body lines (directives dropped) of every export cell of these notebooks."
    cells = [c for nb in nbs for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]
    heads = [("".join(c["source"]).splitlines() or [""]) for c in cells]
    return [[x for x in lines if not x.startswith("#|")] for lines in heads if lines[0].startswith("#| export")]


def test_export_cells_are_small_with_one_definition_each():
    "nbdev's style (fastcore's median export cell is 6 lines): one def or class per export cell, a median of at most 10 lines."
    cells = _export_cells(LIBRARY)
    crowded = [body[0] for body in cells
               if sum(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                      for n in ast.parse("\n".join(body)).body) > 1]
    assert not crowded, f"{len(crowded)} export cells hold several definitions, e.g. {crowded[:3]}"
    sizes = sorted(len(body) for body in cells)
    assert sizes[len(sizes) // 2] <= 10, f"median export cell is {sizes[len(sizes) // 2]} lines"


def test_few_notebook_lines_are_over_120_characters():
    "At most 2% of the notebooks' code lines exceed 120 characters (`ruff format --range` wraps a statement that does)."
    nbs = sorted((ROOT / "nbs").rglob("*.ipynb"))
    lines = [x for nb in nbs for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"
             for x in "".join(c["source"]).splitlines()]
    long = [x for x in lines if len(x) > 120]
    assert len(long) <= 0.02 * len(lines), f"{len(long)} of {len(lines)} code lines are over 120 characters"


def test_run_config_field_metadata_is_the_one_place_for_each_field():
    """RunConfig's metadata drives the groups: every field has a group and help; the train_bridge template's parameters
    cell is `config.parameters_source()` line for line; the display lists name fields of the right group."""
    from dataclasses import fields
    from telepathy_nb.config import RunConfig, GROUPS, parameters_source, settings
    from telepathy_nb.dashboard import ARCH_KEYS, TRAIN_KEYS
    from telepathy_nb.rundir import SUMMARY_KEYS
    bare = [f.name for f in fields(RunConfig) if f.metadata.get("group") not in GROUPS or not f.metadata.get("help")]
    assert not bare, f"RunConfig fields without a group or help (declare them with config.setting): {bare}"
    d = json.loads((ROOT / "nbs" / "runs" / "train_bridge.ipynb").read_text())
    cell = next("".join(c["source"]) for c in d["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    assert cell == parameters_source(), "train_bridge's parameters cell differs from config.parameters_source(): paste it"
    assert set(ARCH_KEYS) <= set(settings(group="model")) and set(TRAIN_KEYS) <= set(settings(group="recipe"))
    assert set(SUMMARY_KEYS) <= {f.name for f in fields(RunConfig)}


def test_one_optimizer_factory():
    "Every trainer builds its AdamW through core.adamw: one construction in the package."
    built = {f.name: f.read_text().count("AdamW(") for f in sorted((ROOT / "telepathy_nb").glob("*.py"))}
    assert sum(built.values()) == 1 and built["core.py"] == 1, {k: v for k, v in built.items() if v}


def test_no_module_below_report_writes_markdown():
    "Results become tables and pages in `report` (or above it): the modules it builds on only compute."
    order = [m for nb in LIBRARY if (m := _exported_module(nb))]
    below = order[: order.index("report")]
    writers = {m: sorted(set(re.findall(r"def (\w*markdown\w*)\(|\b(markdown_table)\b", (ROOT / "telepathy_nb" / f"{m}.py")
                                         .read_text())) - {("", "")}) for m in below}
    assert not any(writers.values()), {m: w for m, w in writers.items() if w}


def _layout_table() -> dict[str, tuple[int, str, bool]]:
    "docs/layout.md's module table: module -> (layer, notebook, imports torch)."
    rows = re.findall(r"^\| (\d) [^|]*\| (\w+) \| (\w+) \| (yes|no) \|", (ROOT / "docs" / "layout.md").read_text(), re.M)
    return {m: (int(layer), nb, torch == "yes") for layer, m, nb, torch in rows}


def _module_level_imports(module: str) -> set[str]:
    "telepathy_nb modules that `module` imports at its top level (the CLI's imports inside commands do not count)."
    tree = ast.parse((ROOT / "telepathy_nb" / f"{module}.py").read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            mod = node.module.removeprefix("telepathy_nb.") if node.level == 0 else node.module
            if node.level or node.module.startswith("telepathy_nb."): names.add(mod)
    return names - {module}


def test_layout_page_matches_the_code():
    "docs/layout.md lists every module in its layer and notebook; a layer builds only on the layers before it; the torch column is true."
    import subprocess, sys
    table = _layout_table()
    modules = {p.stem for p in (ROOT / "telepathy_nb").glob("*.py") if not p.stem.startswith("_")}
    assert set(table) == modules, f"docs/layout.md's table and telepathy_nb/ differ: {set(table) ^ modules}"
    assert all(_exported_module(ROOT / "nbs" / f"{nb}.ipynb") == m for m, (_, nb, _) in table.items())
    upward = {m: sorted(i for i in _module_level_imports(m) if table[i][0] > table[m][0]) for m in table}
    assert not any(upward.values()), f"modules import from a later layer: { {m: v for m, v in upward.items() if v} }"
    free = sorted(m for m, (_, _, torch) in table.items() if not torch)
    code = f"import sys; import {', '.join('telepathy_nb.' + m for m in free)}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == "False", f"one of {free} imports torch"
    torch_direct = {m for m in table if re.search(r"^import torch|^from torch", (ROOT / "telepathy_nb" / f"{m}.py").read_text(), re.M)}
    heavy = {m for m, (_, _, torch) in table.items() if torch}
    reach = {m for m in heavy if m in torch_direct or _module_level_imports(m) & heavy}
    assert reach == heavy, f"marked torch but import it nowhere at top level: {heavy - reach}"
