"""How long the README's test command takes here, with its outcome (issue 35's `make test` goal).

    python experiments/checks/check_test_suite.py OUT_JSON [PYTEST ARGS...]

Runs `python -m pytest tests -q -p no:cacheprovider` (plus any extra arguments, e.g. `-n 2`) from the repository root
and records pytest's own summary (passed, failed, seconds), the wall time around it and the slowest tests.
"""
import json, re, subprocess, sys, time
from pathlib import Path
from telepathy_nb.report import provenance

ROOT = Path(__file__).resolve().parents[2]


def main(out: str, extra: list[str]) -> None:
    cmd = [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", "--durations=10", *extra]
    t0 = time.time()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.time() - t0
    last = done.stdout.strip().splitlines()[-1]
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|errors?|skipped)", last)}
    slowest = re.findall(r"^([\d.]+)s (call|setup|teardown)\s+(\S+)$", done.stdout, re.M)
    rec = {"kind": "test_suite", "summary": last, "counts": counts, "pytest_s": float(re.search(r"in ([\d.]+)s", last)[1]),
           "wall_s": round(wall, 1), "returncode": done.returncode, "pytest_args": extra,
           "slowest": [{"seconds": float(s), "when": w, "test": t} for s, w, t in slowest],
           **provenance(" ".join(["python experiments/checks/check_test_suite.py", out, *extra]))}
    Path(out).write_text(json.dumps(rec, indent=1) + "\n")
    print(last)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
