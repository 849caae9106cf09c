"""Correct the commit of a results JSON made on a machine whose git copy was stale.

The lent GPU machines get a copy of the working tree whose .git can lag behind, so the `commit` recorded there may
name an older commit. Every study and curve also records `code_sha256` (core.code_sha over the package's module
sources), as does each command that continued a study. This script finds the commit, among the last 200, whose telepathy_nb/*.py hash to that value, writes it as
`commit` and keeps what was recorded as `commit_recorded`; it refuses when no commit matches.
    python experiments/stamp_code_commit.py results/curves_sst2.json results/curves_trec.json
"""
import json, subprocess, sys
from telepathy_nb.core import code_sha_of

def git(*a) -> bytes: return subprocess.run(["git", *a], capture_output=True, check=True).stdout

def code_sha_at(commit: str) -> str:
    "core.code_sha() of the package as it was at `commit`."
    paths = [p for p in git("ls-tree", "--name-only", commit, "telepathy_nb/").decode().split() if p.endswith(".py")]
    return code_sha_of({p.split("/", 1)[1]: git("show", f"{commit}:{p}") for p in paths})

commits = git("log", "--format=%H", "-200").decode().split()
def stamp(f: str, rec: dict) -> None:
    "Correct one record's commit (a result, or one of the commands that continued it) from its code sha256."
    match = next((c for c in commits if code_sha_at(c) == rec.get("code_sha256")), None)
    if not match: sys.exit(f"{f}: no commit among the last {len(commits)} has code sha256 {rec.get('code_sha256')}")
    if match != rec.get("commit"): rec["commit_recorded"], rec["commit"] = rec.get("commit_recorded", rec.get("commit")), match
    print(f"{f}: commit {match[:7]} (recorded {str(rec.get('commit_recorded', match))[:7]}) for `{rec.get('command')}`")

for f in sys.argv[1:]:
    res = json.load(open(f))
    for rec in [res, *res.get("continued", [])]: stamp(f, rec)
    json.dump(res, open(f, "w"), indent=2)
