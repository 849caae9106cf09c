"""Name the commit whose code made a results JSON, when the machine that ran it had a stale git copy.

The lent GPU machines get a copy of the working tree whose .git can lag behind, so `commit` in a results JSON
made there may name an older commit. Every study and curve also records `code_sha256`, the SHA-256 over the
package's module sources (study.code_sha). This script finds the commit (among the last 200) whose
telepathy_nb/*.py hash to that value and writes it as `code_commit`; the README's tables then show it.
    python scripts/stamp_code_commit.py results/curves_sst2.json results/curves_trec.json
"""
import hashlib, json, subprocess, sys

def git(*a) -> str: return subprocess.run(["git", *a], capture_output=True, text=True, check=True).stdout

def code_sha_at(commit: str) -> str:
    "study.code_sha() of the package as it was at `commit`."
    h = hashlib.sha256()
    names = sorted(p for p in git("ls-tree", "--name-only", commit, "telepathy_nb/").split() if p.endswith(".py") and p.count("/") == 1)
    for p in names:
        h.update(p.split("/")[1].encode())
        h.update(subprocess.run(["git", "show", f"{commit}:{p}"], capture_output=True, check=True).stdout)
    return h.hexdigest()

commits = git("log", "--format=%H", "-200").split()
for f in sys.argv[1:]:
    res = json.load(open(f))
    match = next((c for c in commits if code_sha_at(c) == res.get("code_sha256")), None)
    if not match: sys.exit(f"{f}: no commit among the last {len(commits)} has code sha256 {res.get('code_sha256')}")
    res["code_commit"] = match
    json.dump(res, open(f, "w"), indent=2)
    print(f"{f}: code_commit {match[:7]} (recorded commit {str(res.get('commit'))[:7]})")
