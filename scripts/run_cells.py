"""Run a notebook's export cells, its first test-import cell and the cells named by id, in notebook order, in this process:
one test of a long notebook on a GPU machine without the cells before it. Usage: python scripts/run_cells.py NB CELL_ID..."""
import json, sys
nb, ids = json.load(open(sys.argv[1])), set(sys.argv[2:])
cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
first_test = next(c["id"] for c in cells if "fastcore.test" in "".join(c["source"]))
scope = {}
for c in cells:
    src = "".join(c["source"])
    if src.startswith("#| export") or c["id"] in ids or c["id"] == first_test or src.startswith("tmp = "):
        print(f"--- cell {c['id']}", flush=True)
        exec(compile(src, f"{sys.argv[1]}#{c['id']}", "exec"), scope)
print("all cells ran")
