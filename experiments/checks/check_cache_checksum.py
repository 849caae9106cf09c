"""How long the state cache's checksum takes (issue 16, goal 2: it runs once when a cache is built and again each time a
run reuses one). Writes a file of random bytes the size of a cache, reads it once so it sits in the page cache (as a cache
just built does), then times `cache.file_checksum` with XXH3-128 (new caches) and BLAKE2b (caches built before it),
alternating, REPEATS times each; prints a table and writes results/checks/cache_checksum_<machine>.json.
Usage: python experiments/checks/check_cache_checksum.py [GIB=2] [REPEATS=3] [OUT]"""
import os, statistics, sys, tempfile, time
from pathlib import Path
from telepathy_nb.cache import file_checksum
from telepathy_nb.core import atomic_write_json, git_revision
from telepathy_nb.report import markdown_table

def cpu_name() -> str:
    "This host's processor model and core count (the checksum runs on the host, GPU or not)."
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "cpu")
    return f"{model} ({os.cpu_count()} cores)"

REFERENCE_CACHE_GIB = 7.2   # the reference experiment's cache: 67,349 SST-2 rows of Llama-3.1-8B layer-16 states (experiments/raw/README.md)

def main(gib: float = 2.0, repeats: int = 3, out: str = "") -> dict:
    path = Path(tempfile.mkdtemp()) / "states.bin"
    chunk = os.urandom(1 << 26)
    with open(path, "wb") as f:
        for _ in range(int(gib * 16)): f.write(chunk)
    size = path.stat().st_size
    with open(path, "rb") as f:
        while f.read(1 << 26): pass                    # into the page cache
    times = {"xxh3_128": [], "blake2b": []}
    for _ in range(repeats):
        for algo in times:
            t0 = time.perf_counter(); file_checksum(path, algo=algo); times[algo].append(time.perf_counter() - t0)
    path.unlink(); path.parent.rmdir()
    rows = {a: {"seconds": t, "median_s": statistics.median(t), "gb_per_s": size / statistics.median(t) / 1e9,
                "reference_cache_s": REFERENCE_CACHE_GIB * 2**30 / (size / statistics.median(t))} for a, t in times.items()}
    res = {"check": "the state cache's checksum over a file in the page cache: XXH3-128 (new caches) against BLAKE2b (older ones)",
           "command": "python experiments/checks/check_cache_checksum.py " + " ".join(sys.argv[1:]), "commit": git_revision(),
           "machine": cpu_name(), "file_bytes": size, "repeats": repeats, "algorithms": rows,
           "speedup": rows["blake2b"]["median_s"] / rows["xxh3_128"]["median_s"]}
    print(markdown_table(["algorithm", "median s", "GB/s", f"s for the reference's {REFERENCE_CACHE_GIB} GiB cache"],
                         [[a, f"{r['median_s']:.2f}", f"{r['gb_per_s']:.2f}", f"{r['reference_cache_s']:.1f}"] for a, r in rows.items()]))
    print(f"XXH3-128 is {res['speedup']:.1f}x faster here")
    atomic_write_json(out or "results/checks/cache_checksum_cpu.json", res)
    return res

if __name__ == "__main__":
    a = sys.argv[1:]
    main(float(a[0]) if a else 2.0, int(a[1]) if len(a) > 1 else 3, a[2] if len(a) > 2 else "")
