"""How fast the state cache builds on one GPU, by batch shape (issue 16, goal 2: the reference experiment's cache of 67,349
SST-2 rows took 27-36 s on two H200s in 64-row batches, its source's forward pass alone about 10 s at the matmul rate).
The scale-random preset's source (Llama-3.1-8B's shape, random bf16 weights, cut at layer 16) reads the first ROWS
training rows; each variant builds a fresh cache of them (`build_state_cache`, as training does: length-sorted batches,
the host writing one batch while the device computes the next) and, separately, runs the same batches' forward passes
without writing (the device's share). Variants: `rowsN` (N rows a batch) and `tokN` (64 rows, or more while rows x the
longest row stays within N tokens). Prints a table; writes OUT/cache_build.json.
Usage: [PRESET=scale-random] python experiments/checks/check_cache_build.py OUT ROWS VARIANT [VARIANT ...]
(e.g. OUT 16384 rows64 tok4096 tok16384 tok65536; PRESET=tiny runs it on a CPU, as a check of the script)"""
import os, shutil, sys, tempfile, time
from pathlib import Path
import numpy as np
import torch
from telepathy_nb.cache import build_state_cache, cache_key, length_batches
from telepathy_nb.config import make_config
from telepathy_nb.core import atomic_write_json, device_description, git_revision, seed_everything
from telepathy_nb.report import markdown_table
from telepathy_nb.data import pad_ids
from telepathy_nb.models import source_states
from telepathy_nb.pipeline import build_pipeline
from telepathy_nb.train import load_rows

def shape(variant: str) -> tuple[int, int]:
    "(batch_size, batch_tokens) of a variant name."
    if variant.startswith("rows"): return int(variant[4:]), 0
    if variant.startswith("tok"): return 64, int(variant[3:])
    raise SystemExit(f"variant {variant!r} is neither rowsN nor tokN")

def sync(dev: torch.device) -> None:
    if dev.type == "cuda": torch.cuda.synchronize(dev)

def forward_only(model, ids_list, layer, batches, pad_id, dev) -> float:
    "Seconds for the batches' forward passes alone (one wait at the end)."
    sync(dev); t0 = time.perf_counter()
    with torch.no_grad():
        for rows in batches:
            ids, mask = pad_ids([ids_list[i] for i in rows], pad_id)
            source_states(model, ids.to(dev, non_blocking=True), mask.to(dev, non_blocking=True), layer)
    sync(dev)
    return time.perf_counter() - t0

def main(out: str, n: int, variants: list[str]) -> dict:
    for v in variants: shape(v)                                    # bad names fail before the models load
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cfg = make_config(os.environ.get("PRESET", "scale-random"), device=dev.type)
    seed_everything(cfg.seed)
    pipe = build_pipeline(cfg, dev)      # the source (and the ids) exactly as training builds them; the target sits unused
    model, pad_id = pipe.source.model, pipe.source.tokenizer.pad_token_id
    ids_list = pipe.collator.source_ids_many(load_rows(cfg)[0][:n])
    lengths = np.asarray([len(x) for x in ids_list])
    key = cache_key(cfg.source_model, model, cfg.source_layer, ids_list)
    order = np.argsort(lengths, kind="stable")
    forward_only(model, ids_list, cfg.source_layer, length_batches(order, lengths, 64)[:4], pad_id, dev)   # warm up kernels
    rows = {}
    for v in variants:
        bs, bt = shape(v)
        batches = length_batches(order, lengths, bs, bt)
        fwd = forward_only(model, ids_list, cfg.source_layer, batches, pad_id, dev)
        d = Path(tempfile.mkdtemp(dir="/tmp"))
        t0 = time.perf_counter()
        c = build_state_cache(d / "c", model, ids_list, cfg.source_layer, key, batch_size=bs, batch_tokens=bt, pad_id=pad_id, progress=False)
        wall = time.perf_counter() - t0
        rows[v] = {"batch_size": bs, "batch_tokens": bt, "batches": len(batches), "build_s": wall, "forward_only_s": fwd,
                   "checksum_s": c.meta["checksum_seconds"], "rows_per_s": n / wall,
                   "padded_tokens": int(sum(len(b) * lengths[b].max() for b in batches))}
        shutil.rmtree(d)
        print(v, {k: round(x, 2) if isinstance(x, float) else x for k, x in rows[v].items()}, flush=True)
    res = {"check": "state-cache build time on one GPU by batch shape (the preset's source and layer, its task's training rows)",
           "command": "python experiments/checks/check_cache_build.py OUT " + " ".join(sys.argv[2:]), "commit": git_revision(),
           "machine": device_description(), "preset": cfg.preset, "rows": n, "tokens": int(lengths.sum()), "variants": rows}
    print(markdown_table(["variant", "batches", "padded tokens", "build s", "forward only s", "checksum s", "rows/s"],
                         [[v, r["batches"], r["padded_tokens"], f"{r['build_s']:.1f}", f"{r['forward_only_s']:.1f}",
                           f"{r['checksum_s']:.2f}", f"{r['rows_per_s']:.0f}"] for v, r in rows.items()]))
    atomic_write_json(Path(out) / "cache_build.json", res)
    return res

if __name__ == "__main__":
    if len(sys.argv) < 4: raise SystemExit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3:])
