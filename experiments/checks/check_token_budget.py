"""Accuracy per delivered token (issue 34): are the bridge's K soft tokens a good use of the target's input, against the
target (Gemma-3-270m) reading the text itself cut to its first T tokens, or whole?

For one task, on all validation rows:
- `bridge` at each K of the studies passed as --bridge-runs (default: the `k_contrast` study, K = 1, 8, 32,
  `results/k_contrast.json`; a study of the other K with the same settings joins it, e.g. `results/k_budget.json`; each
  a study over soft_tokens of preset `embedded`, latent_init=orthogonal, slot_weight=0.5, quick_eval_every=0, trained and
  scored on a GPU): their stored predictions, the chosen seeds. Nothing is retrained; each run's labels and accuracy are
  checked against the validation rows here.
- `text` at T = 1, 2, 4, 8, 16, 32 and "full": the target reads the task prompt with the text cut to the text's first T
  tokens. The cut is made on token ids, never on characters: the prompt with the whole text is tokenised as the project
  does (`task.source_prompt.format(text=text.strip())`, BOS included), the template's shared head and tail tokens
  (`data.template_span`, checked on every row) are kept whole, and only the text's tokens between them are cut to the first T
  (a text of T tokens or fewer reads exactly as the full text). "full" is the project's own input, token for token.
  Two decisions read it: `zero_shot` (the class log-scores after it, as `scoring.text_scores` decides: the LM head at the
  last position, `scoring.first_token_scores`, computed in the pass that gives the state; checked on 16 rows per T
  against `scoring.class_scores` itself) and `probe` (matched supervision: a CV logistic probe, `baselines.fit_cv_probe` seeded
  with the bridge's seed, on the target's last-token state after the cut prompt, as `baselines.text_features` reads it,
  trained per seed on exactly the training rows that seed's bridge saw: `baselines.seen_rows_and_batches` of its config,
  checked to be the same rows at K = 1, 8 and 32).
- `prefill_tokens`: the input positions the target reads per decision. The bridge: its primer ([BOS] + the task's
  `target_primer` tokens, `PairCollator.primer_ids`) + K soft tokens, the same for every row (`bridge.build_target_inputs`);
  also the source's tokens read (mean over the validation rows, `PairCollator.source_ids_many`). The text: the mean
  length of the (cut) prompt ids over the validation rows, BOS and template included.
- `latency_ms`: one decision at batch 1 on this machine's CPU (fp32, 2 torch threads; `one_thread`: the same at 1),
  median over the first --latency-rows validation rows after warm-up on 3 more; every method is timed on a row before the next row
  (interleaved, so the machine's noise falls on all alike). The bridge's decision: the source prompt tokenised, SmolLM2
  run to block 15 (`models.source_states` stops there), the bridge, the target over [primer][K soft tokens] and its
  class scores (`bench.decide_fast`). Its bridge is randomly initialised (the trained weights are not on this machine):
  the same operations and shapes as a trained one. The text's decision: the prompt tokenised and cut, the target's
  forward and its class scores.
- `comparisons`: per K, the bridge at K minus the probe on the text cut to K tokens and minus the probe on the full
  text, paired by seed (`stats.paired_comparisons`: paired t over seeds, TOST at ±2 pp, Holm over that K's two).

The target's states are computed once per distinct input (a dict keyed by the token ids: seeds share rows, and a text no
longer than T reads the same at every larger T), in length-sorted batches of --batch-size. The T the comparisons read
(full, then 1, 8, 32) go first. OUT_JSON is rewritten (atomically) as each stage ends, so an interrupted run keeps what
it had; the same command again (same task, seeds and rows) goes on from there: the T whose probes finished and the
latencies are kept, the rest computed.

Threads on a shared 2-core CPU: OpenMP's waiting threads spin by default, and with another process busy on the cores
a 2-thread forward ran 6x slower than a 1-thread one (320 SST-2 prompts: 93 s against 16 s); with OMP_WAIT_POLICY=PASSIVE,
which the script sets unless the environment does, 2 threads ran about as fast as 1 under such load (19 s against 17 s).
The probes run with one BLAS thread (threadpoolctl): the same C and predictions, 13 s against 105 s for one SST-2 probe
on 3,200 rows with the CPU shared.

    TELEPATHY_DATA_DIR=../shared/data python experiments/checks/check_token_budget.py OUT_JSON --task sst2|trec
        [--seeds 0,1,2,3,4] [--cuts 1,2,4,8,16,32] [--latency-rows 30] [--batch-size 16]
        [--bridge-runs results/k_contrast.json [results/k_budget.json ...]]

CPU cost (2-core AMD EPYC, fp32, mostly idle, `nice -n 5`), 5 seeds: SST-2 32 min (14,527 distinct training texts,
47,507 distinct inputs over the seven T; the full texts' 14.5k alone ~9.5 min), TREC 19 min (5,333 texts, 15,814
inputs); one CV probe on 3,200 rows 2-6 s on SST-2, 9-26 s on TREC (six classes); the latencies ~2 min.
"""
import os
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # before torch loads OpenMP: see the docstring
import argparse, ast, json, statistics, subprocess, sys, time
from pathlib import Path
import numpy as np
import torch
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from telepathy_nb.baselines import fit_cv_probe, seen_rows_and_batches
from telepathy_nb.bench import decide_fast
from telepathy_nb.config import make_config
from telepathy_nb.core import atomic_write_json
from telepathy_nb.data import get_task, template_span, verbaliser_ids
from telepathy_nb.grid import run_key
from telepathy_nb.models import LoadedLM
from telepathy_nb.pipeline import build_pipeline
from telepathy_nb.report import comparison_rows, provenance
from telepathy_nb.scoring import class_scores, logits_at, target_hidden, text_inputs
from telepathy_nb.stats import paired_comparisons
from telepathy_nb.study import eval_rows

OVERRIDES = {"latent_init": "orthogonal", "slot_weight": 0.5, "quick_eval_every": 0}
"the K studies' overrides besides the task and K (k_contrast's)"
ROWS_FIELDS = ("steps", "batch_size", "grad_accum", "train_size", "max_source_tokens", "source_model")
"the `embedded` preset's fields that decide which training rows a run sees"
WARMUP_ROWS = 3
CHECK_ROWS = 16
"validation rows per T whose class scores are also computed by `scoring.class_scores` itself, as a check"


def log(msg: str) -> None:
    "A progress line on stderr."
    print(msg, file=sys.stderr, flush=True)


def run_config(task: str, k: int, seed: int):
    "The config of the K study's run of `task` at K = `k` and `seed` (k_contrast's settings)."
    return make_config("embedded", task=task, soft_tokens=k, seed=seed, **OVERRIDES)


def stored_bridge_runs(paths: list[Path], task: str, seeds: list[int]) -> tuple[dict, dict, dict]:
    """The runs of `task` for `seeds` at each K of the studies in `paths` ({K: [run per seed]}, K ascending), which file
    each K comes from ({K: path}) and each file's study ({path: study}); exits on anything missing or a K in two files."""
    out, source, studies = {}, {}, {}
    for path in paths:
        if not path.exists(): sys.exit(f"{path}: no such file")
        study = studies[path] = json.loads(path.read_text())
        if (study.get("preset"), study.get("eval_on")) != ("embedded", "validation") or "soft_tokens" not in study["axes"]:
            sys.exit(f"{path}: not a study of preset embedded over soft_tokens scored on the validation rows")
        if task not in study["axes"]["task"]: sys.exit(f"--task {task!r}: not a task of {path} ({study['axes']['task']})")
        for k in map(int, study["axes"]["soft_tokens"]):
            if k in source: sys.exit(f"K = {k} is in both {source[k]} and {path}: pass each K's study once")
            source[k], out[k] = path, study_runs(path, study, task, k, seeds)
    return dict(sorted(out.items())), dict(sorted(source.items())), studies


def study_runs(path: Path, study: dict, task: str, k: int, seeds: list[int]) -> list[dict]:
    "The study's successful runs of `task` at K = `k` with k_contrast's overrides, one per seed; exits on one missing."
    out = []
    for s in seeds:
        key = run_key({**OVERRIDES, "soft_tokens": k, "task": task}, s)
        run = study["runs"].get(key)
        if run is None:
            have = sorted({r["seed"] for r in study["runs"].values() if r["overrides"].get("task") == task})
            sys.exit(f"{path}: no run {key} (seeds of {task} there: {have})")
        if run["status"] != "success" or run["seed"] != s:
            sys.exit(f"{path}: run {key} has status {run['status']!r}, seed {run['seed']}")
        out.append(run)
    return out


def preset_at_commit(commit: str) -> dict | None:
    """The `embedded` preset as config.py defined it at `commit` (read with `git show`, parsed, not imported); None when
    this checkout cannot show that commit."""
    try:
        src = subprocess.run(["git", "show", f"{commit.split('+')[0]}:telepathy_nb/config.py"], capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError): return None
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "embedded" and isinstance(value, ast.Call):
                    return {kw.arg: ast.literal_eval(kw.value) for kw in value.keywords if kw.arg}
    return None


def check_runs(task: str, runs: dict, studies: dict, labels: list[int]) -> dict:
    """Check the stored runs against the validation rows here (labels, row count, accuracy from their predictions) and
    the preset at each study's commits against today's (the fields that decide the rows seen: the runs do not record
    their steps); exits on a mismatch. Returns what was checked."""
    for k, rs in runs.items():
        for r in rs:
            if r["labels"] != labels or r["n"] != len(labels) or len(r["preds"]) != len(labels):
                sys.exit(f"K={k} seed {r['seed']}: its labels/rows differ from the validation rows here")
            acc = float(np.mean(np.array(r["preds"]) == np.array(labels)))
            if abs(acc - r["accuracy"]) > 1e-12:
                sys.exit(f"K={k} seed {r['seed']}: accuracy {r['accuracy']} but its predictions score {acc}")
    now = {f: getattr(run_config(task, min(runs), 0), f) for f in ROWS_FIELDS}
    checked = {}
    commits = [c for st in studies.values() for c in [st.get("commit"), *[x.get("commit") for x in st.get("continued", [])]]]
    for commit in dict.fromkeys(commits):
        if not commit: continue
        then = preset_at_commit(commit)
        if then is None: checked[commit[:7]] = "not checked (commit not in this checkout)"; continue
        differ = {f: (then.get(f), now[f]) for f in ROWS_FIELDS if then.get(f) != now[f]}
        if differ: sys.exit(f"the embedded preset at the study's commit {commit[:7]} differs from today's: {differ}")
        checked[commit[:7]] = {f: now[f] for f in ROWS_FIELDS}
    return checked


def seen_rows(task: str, ks: list[int], seeds: list[int], collator) -> dict[int, list[dict]]:
    "Per seed, the training rows its bridge saw; exits unless they are the same rows at every K of `ks`."
    out = {}
    for s in tqdm(seeds, desc="rows seen per seed (every K)", file=sys.stderr):
        by_k = {k: seen_rows_and_batches(run_config(task, k, s), collator)[0] for k in ks}
        texts = {k: [(r["text"], r["label"]) for r in rows] for k, rows in by_k.items()}
        if any(texts[k] != texts[ks[0]] for k in ks):
            sys.exit(f"seed {s}: the rows seen differ between K = {ks}")
        out[s] = by_k[ks[0]]
    return out


class PromptCutter:
    "Target token ids of the task prompt with a text cut to its first T tokens, the template around it whole."
    def __init__(self, tokenizer, prompt: str):
        self.tok, self.prompt, self.memo = tokenizer, prompt, {}
        self.head_len, self.tail_len = template_span(tokenizer, prompt)
        probe = tokenizer(prompt.format(text="good")).input_ids
        self.head, self.tail = probe[:self.head_len], probe[len(probe) - self.tail_len:]

    def split(self, text: str) -> tuple[list[int], list[int], list[int]]:
        "(template head, the text's tokens, template tail) of the prompt with `text`, tokenised whole as the project does."
        if text not in self.memo:
            ids = self.tok(self.prompt.format(text=text.strip())).input_ids
            head, body, tail = ids[:self.head_len], ids[self.head_len:len(ids) - self.tail_len], ids[len(ids) - self.tail_len:]
            if head != self.head or tail != self.tail or not body:
                raise ValueError(f"the template around {text!r} does not tokenise apart from the text")
            self.memo[text] = head, body, tail
        return self.memo[text]

    def __call__(self, text: str, cut: int | None) -> list[int]:
        "The prompt's ids with the text's first `cut` tokens (None: all of them)."
        head, body, tail = self.split(text)
        return head + body[:cut] + tail


class TargetReader:
    """The target reading token-id prompts (the task prompt with a text cut to T tokens), from one forward pass each: its
    last-token state, as `baselines.text_features` reads it, and, when asked, the class log-scores there, as
    `scoring.class_scores` scores single-token classes (`scoring.first_token_scores`: the LM head at that same position).
    Kept per distinct input, so seeds sharing rows, and a text no longer than T at every larger T, are read once."""
    def __init__(self, lm: LoadedLM, class_ids: list[list[int]], batch_size: int = 16):
        if any(len(c) != 1 for c in class_ids): raise ValueError(f"multi-token verbalisers {class_ids}: not handled")
        self.lm, self.class_ids, self.bs, self.states, self.zs = lm, class_ids, batch_size, {}, {}
        self.first = torch.tensor([c[0] for c in class_ids])

    @torch.no_grad()
    def read(self, prompts: list[list[int]], scores: bool = False, desc: str = "target reading") -> None:
        """Read the prompts not read yet, in length-sorted batches (right-padded); with `scores`, the class scores too
        (the LM head over the whole vocabulary at one position: as costly as a few more tokens)."""
        new = sorted({tuple(p) for p in prompts} - (self.zs if scores else self.states).keys(), key=len)
        for i in tqdm(range(0, len(new), self.bs), desc=f"{desc} ({len(new)} new inputs)", file=sys.stderr):
            chunk = new[i:i + self.bs]
            embeds, mask, pos = text_inputs(self.lm, [list(p) for p in chunk])(list(range(len(chunk))), [[] for _ in chunk])
            h = target_hidden(self.lm.model, embeds, mask)
            self.states.update(zip(chunk, h[torch.arange(len(chunk)), pos[:, 0]].float().numpy()))
            if scores:
                lp = logits_at(self.lm.model, h, pos[:, :1])[:, 0].log_softmax(-1)[:, self.first]
                self.zs.update(zip(chunk, lp.float().numpy()))

    def features(self, prompts: list[list[int]]) -> np.ndarray:
        "(N, d) states of prompts read before."
        return np.stack([self.states[tuple(p)] for p in prompts])

    def zero_shot(self, prompts: list[list[int]]) -> np.ndarray:
        "(N, C) class log-scores of prompts read before with `scores`."
        return np.stack([self.zs[tuple(p)] for p in prompts])

    @torch.no_grad()
    def scores(self, prompts: list[list[int]]) -> np.ndarray:
        "(N, C) class log-scores by `scoring.class_scores` over `scoring.text_inputs` itself (what `scoring.text_scores` runs)."
        return class_scores(self.lm.model, text_inputs(self.lm, prompts), len(prompts), self.class_ids).float().numpy()

    def decide(self, prompt: list[int]) -> int:
        "One decision on one prompt: the argmax of its class scores."
        return int(self.scores([prompt]).argmax(-1)[0])


def check_scores(reader: TargetReader, prompts: list[list[int]]) -> dict:
    "The largest gap between `read`'s class scores and `scoring.class_scores` on the same prompts (one batch); raises past 1e-3."
    gap = float(np.abs(reader.scores(prompts) - reader.zero_shot(prompts)).max())
    if gap > 1e-3: raise RuntimeError(f"the class scores read with the states differ from scoring.class_scores by {gap}")
    return {"prompts": len(prompts), "max_abs_score_gap": gap}


def probe_per_seed(reader: TargetReader, cutter: PromptCutter, cut: int | None, train: dict, ev: list[dict],
                   desc: str) -> dict:
    "Per seed, a CV probe on the target's states of its rows' cut prompts (read before), scored on the validation rows."
    labels = np.array([r["label"] for r in ev])
    x_ev = reader.features([cutter(r["text"], cut) for r in ev])
    out = {"accuracy": [], "preds": [], "C": [], "seconds": []}
    for s, rows in train.items():
        t0 = time.time()
        with threadpool_limits(1, user_api="blas"):     # one BLAS thread: 8x faster than two on this shared CPU
            clf, C = fit_cv_probe(reader.features([cutter(r["text"], cut) for r in rows]), [r["label"] for r in rows], seed=s)
        preds = clf.predict(x_ev)
        out["accuracy"].append(float((preds == labels).mean())); out["preds"].append(preds.astype(int).tolist())
        out["C"].append(C); out["seconds"].append(round(time.time() - t0, 1))
        log(f"  {desc} probe seed {s}: {out['accuracy'][-1]:.4f} (C {C:g}, {out['seconds'][-1]} s)")
    return out


def bridge_pipelines(task: str, ks: list[int]) -> dict:
    """Per K of `ks`, a pipeline of the study's config (seed 0) with a randomly initialised bridge, all sharing one source
    and one target (loaded here): for timing and counting only."""
    first = build_pipeline(run_config(task, ks[0], 0), "cpu").eval()
    return {ks[0]: first} | {k: build_pipeline(run_config(task, k, 0), "cpu", first.source, first.target).eval()
                             for k in ks[1:]}


@torch.no_grad()
def latencies(pipes: dict, reader: TargetReader, cutter: PromptCutter, cuts: list, rows: list[dict]) -> dict:
    """Median milliseconds of one batch-1 decision per method over `rows` (after WARMUP_ROWS more), the methods
    interleaved row by row: the bridge at each K (from the text: source tokenised, source to layer L, bridge, target,
    class scores) and the target reading the text cut to each T (tokenised and cut, forward, class scores)."""
    methods = {f"bridge_{k}": (lambda r, p=p: decide_fast(p, p.collator([r]))) for k, p in pipes.items()}
    methods |= {f"text_{name}": (lambda r, c=cut: reader.decide(cutter(r["text"], c))) for name, cut in cuts}
    times = {m: [] for m in methods}
    for i, r in enumerate(tqdm(rows, desc="latency (batch 1)", file=sys.stderr)):
        for m, fn in methods.items():
            t0 = time.perf_counter(); fn(r); dt = (time.perf_counter() - t0) * 1e3
            if i >= WARMUP_ROWS: times[m].append(dt)
    med = {m: round(statistics.median(t), 2) for m, t in times.items()}
    return {"bridge": {str(k): med[f"bridge_{k}"] for k in pipes}, "text": {name: med[f"text_{name}"] for name, _ in cuts}}


def measured_latency(pipes: dict, reader: TargetReader, cutter: PromptCutter, cuts: list, rows: list[dict],
                     machine: str) -> dict:
    "`latencies` at 2 torch threads and at 1, with what was timed."
    torch.set_num_threads(1)
    one_thread = latencies(pipes, reader, cutter, cuts, rows)
    torch.set_num_threads(2)
    return {"machine": machine, "rows": len(rows) - WARMUP_ROWS, "warmup_rows": WARMUP_ROWS, "batch_size": 1,
            "torch_threads": torch.get_num_threads(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            **latencies(pipes, reader, cutter, cuts, rows), "one_thread": one_thread,
            "text_prefill_tokens_mean_timed_rows": {
                name: round(float(np.mean([len(cutter(r["text"], c)) for r in rows[WARMUP_ROWS:]])), 3) for name, c in cuts},
            "bridge_note": ("a randomly initialised bridge of each K (build_pipeline's seeded init; the trained weights are "
                            "not on this machine): the same operations and shapes as a trained one. One decision from the "
                            "text: the source prompt tokenised, SmolLM2 to block 15, the bridge, the target over "
                            "[primer][K soft tokens], class scores (bench.decide_fast); fp32 on the CPU"),
            "text_note": "one decision from the text: the prompt tokenised and cut, the target's forward, class scores"}


def comparisons(res: dict) -> dict:
    "Per K with its probes done: the bridge at K minus the probe on the text cut to K and on the full text, Holm over the two."
    out = {}
    for k in map(int, res["bridge"]):
        others = {name: res["text"][t]["probe"]["preds"] for name, t in ((f"text_cut_{k}", str(k)), ("text_full", "full"))
                  if "probe" in res["text"].get(t, {})}
        if others and len(res["seeds"]) > 1:
            out[str(k)] = {"vs": paired_comparisons(res["labels"], res["bridge"][str(k)]["preds"], others, subject="bridge")}
    return out


def earlier_stages(path: Path, fresh: dict) -> dict:
    """What an earlier call with the same task, seeds and validation rows left in `path` (each T whose probes finished,
    the latencies), to go on from; {} when there is no such file; exits when it holds another run."""
    if not path.exists(): return {}
    old = json.loads(path.read_text())
    if [old.get(k) for k in ("kind", "task", "seeds", "labels")] != [fresh[k] for k in ("kind", "task", "seeds", "labels")]:
        sys.exit(f"{path} holds another run (kind, task, seeds or rows differ): write to another file")
    log(f"going on from {path}: T done {[t for t, r in old['text'].items() if 'probe' in r]}, "
        f"latency {'done' if 'latency_ms' in old else 'not done'} (timed again unless it covers every T)")
    timed = ("latency_ms" in old and set(fresh["text"]) <= set(old["latency_ms"]["text"])     # every T and K of this call
             and set(fresh["bridge"]) <= set(old["latency_ms"]["bridge"]))
    return {"text": {t: r for t, r in old["text"].items() if "probe" in r},
            **({"latency_ms": old["latency_ms"]} if timed else {}), "seconds": old.get("seconds", {})}


def bridge_runs_field(runs_file: dict) -> str | dict:
    "Where the bridge's runs come from: the one study file, or {K: file} when they come from several."
    files = {str(p) for p in runs_file.values()}
    return files.pop() if len(files) == 1 else {str(k): str(p) for k, p in runs_file.items()}


def parse_cuts(text: str) -> list[tuple[str, int | None]]:
    "'1,2,4' -> [('1', 1), ('2', 2), ('4', 4), ('full', None)]: each T's name and the cut (None: the whole text)."
    try: cuts = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError: sys.exit(f"--cuts {text!r}: give positive integers, e.g. 1,2,4,8,16,32")
    if not cuts or min(cuts) < 1: sys.exit(f"--cuts {text!r}: give positive integers, e.g. 1,2,4,8,16,32")
    return [(str(c), c) for c in cuts] + [("full", None)]


def by_priority(cuts: list, ks: list[int]) -> list:
    "The cuts in the order they are computed: the ones the comparisons read first (full, then each K), then the rest."
    first = ["full"] + [str(k) for k in ks]
    return sorted(cuts, key=lambda nc: first.index(nc[0]) if nc[0] in first else len(first))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--task", required=True, help="sst2 or trec (the tasks of the K studies)")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--cuts", default="1,2,4,8,16,32", help="T: the text's first T tokens (the full text is added)")
    ap.add_argument("--latency-rows", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--bridge-runs", type=Path, nargs="+", default=[Path("results/k_contrast.json")],
                    help="the studies holding the bridge's runs, each over soft_tokens (a K in one file only)")
    a = ap.parse_args(argv)
    command = "python experiments/checks/check_token_budget.py " + " ".join(sys.argv[1:] if argv is None else argv)
    t_start, seconds = time.time(), {}
    try: seeds = [int(s) for s in a.seeds.split(",") if s.strip()]
    except ValueError: sys.exit(f"--seeds {a.seeds!r}: give integers, e.g. 0,1,2,3,4")
    if len(seeds) < 2 or len(set(seeds)) != len(seeds): sys.exit(f"--seeds {a.seeds!r}: give two distinct seeds or more")
    if a.latency_rows < 1: sys.exit("--latency-rows: give 1 or more")
    cuts = parse_cuts(a.cuts)
    runs, runs_file, studies = stored_bridge_runs(a.bridge_runs, a.task, seeds)   # before any model loads
    ks = list(runs)
    torch.set_num_threads(2)

    def stage(name: str, t0: float) -> None:
        "Record a stage's seconds and write what is there so far."
        seconds[name] = round(time.time() - t0, 1)
        res["seconds"] = seconds | {"total_this_call": round(time.time() - t_start, 1)}
        res["comparisons"] = comparisons(res)
        atomic_write_json(a.out, res)
        log(f"{name}: {seconds[name]} s")

    t0 = time.time()
    pipes = bridge_pipelines(a.task, ks)
    first = pipes[ks[0]]
    task, target = get_task(a.task), first.target
    ev = eval_rows(run_config(a.task, ks[0], seeds[0]), "validation")
    labels = [r["label"] for r in ev]
    checked = check_runs(a.task, runs, studies, labels)
    res = {"kind": "token_budget", "task": a.task, "labels": labels, "seeds": seeds,
           "bridge_runs": bridge_runs_field(runs_file), "bridge_runs_checked": {"labels_accuracy": "every run", "preset_at": checked},
           **provenance(command), "bridge": {}, "text": {}}
    cutter = PromptCutter(target.tokenizer, task.source_prompt)
    reader = TargetReader(target, verbaliser_ids(target.tokenizer, task), a.batch_size)
    if any(cutter(r["text"], None) != target.tokenizer(task.source_prompt.format(text=r["text"].strip())).input_ids
           for r in ev):
        sys.exit("the uncut prompt differs from the project's tokenisation")
    src_tokens = float(np.mean([len(x) for x in first.collator.source_ids_many(ev)]))
    for k, rs in runs.items():
        res["bridge"][str(k)] = {"accuracy": [r["accuracy"] for r in rs], "preds": [r["preds"] for r in rs],
                                 "prefill_tokens": len(pipes[k].collator.primer_ids) + k,
                                 "source_tokens_mean": round(src_tokens, 3)}
    for name, cut in cuts:
        res["text"][name] = {"prefill_tokens_mean": round(float(np.mean([len(cutter(r["text"], cut)) for r in ev])), 3),
                             "text_tokens_kept_mean": round(float(np.mean(
                                 [len(cutter.split(r["text"])[1][:cut]) for r in ev])), 3)}
    res["prefill_note"] = ("bridge: the target's primer ids ([BOS] + target_primer) + K soft tokens, the same for every "
                           "row; text: len of [BOS + template head][the text's first T tokens][template tail], mean over "
                           "the validation rows; source_tokens_mean: the source prompt's ids the bridge's source reads "
                           "(BOS and template included, max_source_tokens cut), mean over the validation rows")
    done = earlier_stages(a.out, res)
    res["text"] = {name: done.get("text", {}).get(name, t) for name, t in res["text"].items()}
    if "latency_ms" in done: res["latency_ms"] = done["latency_ms"]
    seconds.update({k: v for k, v in done.get("seconds", {}).items() if k != "total_this_call"})
    stage("load_and_count", t0)

    t0 = time.time()
    train = seen_rows(a.task, ks, seeds, first.collator)
    res["rows_seen"] = {str(s): len(rows) for s, rows in train.items()}
    res["rows_seen_distinct_texts"] = len({r["text"] for rows in train.values() for r in rows})
    stage("rows_seen", t0)

    if "latency_ms" not in res:
        t0 = time.time()
        res["latency_ms"] = measured_latency(pipes, reader, cutter, cuts, ev[:WARMUP_ROWS + a.latency_rows], res["machine"])
        stage("latency", t0)

    for name, cut in by_priority(cuts, ks):
        if "probe" in res["text"][name]: continue                             # done by an earlier call
        t0 = time.time()
        prompts = [cutter(r["text"], cut) for r in ev]
        reader.read(prompts, scores=True, desc=f"T={name} validation rows")
        zs = reader.zero_shot(prompts).argmax(-1)
        res["text"][name]["zero_shot"] = {"accuracy": float((zs == np.array(labels)).mean()), "preds": zs.astype(int).tolist()}
        res["text"][name]["zero_shot_check"] = check_scores(reader, prompts[:CHECK_ROWS])
        log(f"text {name}: zero-shot {res['text'][name]['zero_shot']['accuracy']:.4f}")
        reader.read([cutter(r["text"], cut) for rows in train.values() for r in rows], desc=f"T={name} training rows")
        res["text"][name]["probe"] = probe_per_seed(reader, cutter, cut, train, ev, f"T={name}")
        res["distinct_inputs_read"] = len(reader.states)
        stage(f"text_{name}", t0)
    report(res)


def report(res: dict) -> None:
    "Print the table and each comparison."
    lat = res.get("latency_ms", {})
    pct = lambda xs: f"{100 * np.mean(xs):.1f} ± {100 * np.std(xs, ddof=1):.1f}"
    print(f"{res['task']}: T or K | prefill tokens | zero-shot % | probe % | bridge % | latency ms")
    for k, b in res["bridge"].items():
        print(f"  bridge K={k} | {b['prefill_tokens']} | | | {pct(b['accuracy'])} | {lat.get('bridge', {}).get(k)}")
    for t, r in res["text"].items():
        print(f"  text T={t} | {r['prefill_tokens_mean']:.1f} | {100 * r['zero_shot']['accuracy']:.1f} | "
              f"{pct(r['probe']['accuracy'])} | | {lat.get('text', {}).get(t)}")
    for k, c in res["comparisons"].items():
        for row in comparison_rows(c["vs"], "bridge"): print(f"  K={k}: " + " | ".join(row))


if __name__ == "__main__":
    main()
