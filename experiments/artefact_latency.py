"""Batch-1 decision latency on this machine's CPU: the bridge (TelepathyPipeline.classify) against text relay
(the source writes up to 24 tokens, the target classifies what it wrote) and the target reading the text itself,
on the same SST-2 validation texts. Latency does not depend on the bridge's weights, so with no artefact the
embedded preset's untrained bridge is timed.

    TELEPATHY_DATA_DIR=../shared/data .venv/bin/python experiments/artefact_latency.py [--artefact DIR] [--n 20]

Prints a table and writes experiments/raw/artefact_latency_cpu.json.
"""
import argparse, json, statistics, time
from pathlib import Path
import torch
from telepathy_nb.artefact import TelepathyPipeline
from telepathy_nb.baselines import relay_texts
from telepathy_nb.config import make_config
from telepathy_nb.core import device_description, package_versions, git_revision
from telepathy_nb.data import load_split, get_task
from telepathy_nb.evaluate import text_scores
from telepathy_nb.pipeline import build_pipeline


def timed(fn, texts, warmup: int = 2) -> list[float]:
    "Milliseconds of fn([text]) for each text, after `warmup` untimed calls."
    for t in texts[:warmup]: fn([t])
    out = []
    for t in texts:
        t0 = time.perf_counter(); fn([t]); out.append(1000 * (time.perf_counter() - t0))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(); ap.add_argument("--artefact"); ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--out", default=str(Path(__file__).parent / "artefact_latency_cpu.json")); a = ap.parse_args()
    torch.set_grad_enabled(False)
    if a.artefact: tp = TelepathyPipeline.from_pretrained(a.artefact, device="cpu", batch_size=1)
    else:
        pipe = build_pipeline(make_config("embedded", device="cpu")); pipe.bridge.eval()
        tp = TelepathyPipeline(pipe, {"label_names": list(pipe.collator.task.label_names)}, batch_size=1)
    task, src, tgt = get_task("sst2"), tp.pipe.source, tp.pipe.target
    texts = [r["text"] for r in load_split("sst2", "eval", n=a.n, seed=0)]
    rows = {"bridge (classify)": timed(tp.classify, texts),
            "text relay (source writes 24 tokens, target classifies)": timed(
                lambda ts: text_scores(tgt, task, relay_texts(src, ts, max_new_tokens=24, batch_size=1), batch_size=1), texts),
            "target reads the text (zero-shot)": timed(lambda ts: text_scores(tgt, task, ts, batch_size=1), texts)}
    base = statistics.median(rows["bridge (classify)"])
    table = [{"path": k, "median_ms": statistics.median(v), "p90_ms": sorted(v)[int(0.9 * (len(v) - 1))], "x_bridge": statistics.median(v) / base}
             for k, v in rows.items()]
    print(f"{'path':58} {'median ms':>10} {'p90 ms':>8} {'x bridge':>9}")
    for r in table: print(f"{r['path']:58} {r['median_ms']:10.1f} {r['p90_ms']:8.1f} {r['x_bridge']:9.2f}")
    Path(a.out).write_text(json.dumps({"command": "experiments/artefact_latency.py" + (f" --artefact {a.artefact}" if a.artefact else ""),
                                       "machine": device_description(), "threads": torch.get_num_threads(), "texts": len(texts),
                                       "commit": git_revision(Path(__file__).parents[1]), "versions": package_versions(),
                                       "trained_bridge": bool(a.artefact), "rows": table, "raw_ms": rows}, indent=1))


if __name__ == "__main__": main()
