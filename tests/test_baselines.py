"""The baselines harness for real on the tiny pair: statistics checked by hand, controls on the same rows,
the training rows the bridge saw, and baselines.json written by the papermill template."""
from math import comb
import numpy as np
import pytest
from telepathy_nb.stats import (bootstrap_ci, mcnemar_exact, compare_to_bridge, report, multi_report,
                                paired_bootstrap_difference, equivalence_verdict)
from telepathy_nb.baselines import (BASELINES,
                                    bridge_batches, training_rows, control_baseline, derangement, few_shot_prompt,
                                    run_baselines, train_bridge_seed)
from telepathy_nb.config import make_config
from telepathy_nb.core import TelepathyError, read_json
from telepathy_nb.data import PairCollator, load_split, get_task
from telepathy_nb.pipeline import bridge_scores
from telepathy_nb.models import load_model
from telepathy_nb.runs import launch
from telepathy_nb.train import train


@pytest.fixture(scope="module")
def tiny():
    cfg = make_config("tiny", steps=5, quick_eval_every=0)
    return cfg, load_model(cfg.source_model, device="cpu", seed=0), load_model(cfg.target_model, device="cpu", seed=1)


def test_mcnemar_matches_hand_computation():
    # 7 rows only A gets right, 1 row only B, 12 concordant rows: p = 2 * P(X <= 1), X ~ Bin(8, 1/2)
    y = np.zeros(20, int)
    a = np.array([0] * 7 + [1] + [0] * 6 + [1] * 6)
    b = np.array([1] * 7 + [0] + [0] * 6 + [1] * 6)
    r = mcnemar_exact(y, a, b)
    assert (r["b"], r["c"]) == (7, 1)
    assert r["p"] == pytest.approx(2 * (comb(8, 0) + comb(8, 1)) / 2**8, abs=1e-12)   # 0.0703125
    assert mcnemar_exact(y, b, a)["p"] == pytest.approx(r["p"])                          # symmetric
    assert mcnemar_exact(y, a, a) == {"b": 0, "c": 0, "p": 1.0}
    # balanced discordance is no evidence at all
    assert mcnemar_exact([0, 0], [0, 1], [1, 0])["p"] == pytest.approx(1.0)


def test_bootstrap_ci_is_seeded_and_covers():
    c = np.array([1] * 170 + [0] * 30)                           # 0.85, normal-approx half-width 0.0495
    lo, hi = bootstrap_ci(c, n_resamples=2000, seed=7)
    assert lo < 0.85 < hi and hi - lo == pytest.approx(2 * 0.0495, abs=0.015)
    assert bootstrap_ci(c, n_resamples=2000, seed=7) == (lo, hi)
    lo99, hi99 = bootstrap_ci(c, n_resamples=2000, seed=7, level=0.99)
    assert lo99 < lo and hi < hi99


def test_mcnemar_per_seed_and_the_seed_and_row_bootstrap():
    "Every bridge seed is tested (no largest-p headline), and the verdict comes from the seed-level difference."
    labels = [0] * 12
    bridge = multi_report(labels, [[0] * 12, [0] * 6 + [1] * 6], ["a", "b"], run_info=[{"seed": 0}, {"seed": 5}])
    rec = compare_to_bridge(report(labels, [1] * 12, ["a", "b"]), bridge, labels)
    assert [(t["bridge_seed"], t["b"], t["c"]) for t in rec["mcnemar"]] == [(0, 12, 0), (5, 6, 0)]
    assert rec["mcnemar_p_per_seed"] == pytest.approx([2 / 2**12, 2 / 2**6])
    assert "mcnemar_p" not in rec
    d = rec["difference"]
    assert d["diff"] == pytest.approx(0.75) and d["method"] == "rows+seeds"   # the baseline ran once: its rows stand in
    # the 50% seed and the perfect one both enter the spread: two seeds 50 points apart leave the t about one degree of
    # freedom, so the interval spans 0 and no verdict is drawn (the seed-and-row bootstrap called this "better")
    lo, hi = d["ci95"]
    assert d["df"] < 2 and lo < 0 and hi > 1 and d["p"] > 0.05
    assert rec["verdict"] == "inconclusive"
    # a third seed at 100%: the spread is now estimated on two df, and the gap is clear
    bridge3 = multi_report(labels, [[0] * 12, [0] * 6 + [1] * 6, [0] * 12], ["a", "b"],
                           run_info=[{"seed": 0}, {"seed": 5}, {"seed": 7}])
    rec3 = compare_to_bridge(report(labels, [1] * 12, ["a", "b"]), bridge3, labels)
    assert rec3["difference"]["diff"] == pytest.approx(2.5 / 3) and 0 < rec3["difference"]["ci95"][0] < 0.5
    assert rec3["verdict"] == "bridge better"


def test_equivalence_needs_tost_not_a_large_p():
    "Two classifiers that agree on most rows of a large set are 'equivalent'; a small set is 'inconclusive', never 'the same'."
    y = np.zeros(3000, dtype=int)
    a = [np.where(np.arange(3000) % 20 == 0, 1, 0)]
    b = [np.where(np.arange(3000) % 20 == 1, 1, 0)]
    assert equivalence_verdict(paired_bootstrap_difference(y, a, b)) == "equivalent within ±2 pp (TOST)"
    assert equivalence_verdict(paired_bootstrap_difference(y[:30], [a[0][:30]], [b[0][:30]])) == "inconclusive"


def test_bridge_batches_replay_the_training_loop(tiny):
    cfg, src, tgt = tiny
    cfg = make_config("tiny", steps=4, grad_accum=2, batch_size=4, train_size=200, seed=3, quick_eval_every=0)
    task = get_task(cfg.task)

    class Recording(PairCollator):                 # the real collator, remembering what training asked it for
        calls = []
        def __call__(self, rows):
            Recording.calls.append([r["text"] for r in rows]); return super().__call__(rows)

    from telepathy_nb.pipeline import build_pipeline
    pipe = build_pipeline(cfg, "cpu", source=src, target=tgt)
    pipe.collator = Recording(task, src.tokenizer, tgt.tokenizer, max_source_tokens=cfg.max_source_tokens,
                              label_eos=cfg.label_eos, target_bos=cfg.target_bos)
    train(cfg, pipe, progress=False)
    rows = training_rows(cfg)
    replay = [[rows[i]["text"] for i in mb] for step in bridge_batches(cfg, pipe.collator, rows) for mb in step]
    assert len(replay) == 8 and replay == Recording.calls


def test_shuffled_control_on_a_trained_bridge_uses_the_same_rows(tiny):
    cfg, src, tgt = tiny
    pipe, _, info = train_bridge_seed(cfg, 0, src, tgt)
    assert info["train_status"] == "success" and info["train_steps"] == 5
    rows = list(load_split("toy", "eval", n=24, seed=0))
    labels = np.array([r["label"] for r in rows])
    rec = control_baseline(pipe, rows, "shuffled", seed=4, batch_size=7)
    assert rec["n"] == 24 and rec["accuracy"] == pytest.approx((np.array(rec["preds"]) == labels).mean())
    # row i is scored with row perm[i]'s source text, never its own, and keeps its own label
    perm = derangement(24, seed=4)
    fed = [{"text": rows[j]["text"], "label": rows[i]["label"]} for i, j in enumerate(perm)]
    shuffled_scores = bridge_scores(pipe, fed, 8, False)
    assert rec["preds"] == shuffled_scores.argmax(-1).tolist()
    own = bridge_scores(pipe, rows, 8, False)
    assert not np.allclose(own, shuffled_scores, atol=1e-5)          # the bridge's scores did change with the input
    np.testing.assert_allclose(own[perm], shuffled_scores, atol=1e-4)  # ... to exactly the other row's scores


def test_few_shot_demonstrations_come_from_training_rows():
    task = get_task("toy")
    train_rows = [{"text": f"train row {i}", "label": i % 2} for i in range(20)]
    p0, p1 = few_shot_prompt(task, train_rows, 3, seed=0), few_shot_prompt(task, train_rows, 3, seed=1)
    assert p0 != p1 and p0.count("Review: train row") == 6
    assert p0.count("Sentiment: negative\n\n") == p0.count("Sentiment: positive\n\n") == 3


def test_unknown_baseline_and_missing_task_fail_clearly(tiny):
    cfg, src, tgt = tiny
    with pytest.raises(TelepathyError, match="unknown baseline"):
        run_baselines(cfg, which="majority,oracle", source=src, target=tgt, progress=False)
    with pytest.raises(TelepathyError, match="agnews"):   # no offline copy of AG News, no hub here
        run_baselines(make_config("tiny", task="agnews"), which="majority", source=src, target=tgt, progress=False)


def test_template_writes_baselines_json_with_every_baseline(tmp_path):
    run = launch("baselines", {"steps": 3, "eval_size": 16, "bridge_seeds": "0,1", "few_shot_k": 1, "few_shot_draws": 2,
                               "relay_max_new_tokens": 4, "n_resamples": 200}, name="t", root=tmp_path, progress=False)
    assert read_json(run / "summary.json")["status"] == "success"
    assert {"config.json", "baselines.json", "run.ipynb", "run.html"} <= {p.name for p in run.iterdir()}
    res = read_json(run / "baselines.json")
    assert read_json(run / "config.json")["steps"] == 3 and res["bridge_seeds"] == [0, 1]
    names = set(BASELINES) - {"linear_probe"} | {"probe_mean", "probe_last"}
    assert set(res["baselines"]) == names
    for name, r in {"bridge": res["bridge"], **res["baselines"]}.items():
        assert r["n"] == 16, name
        lo, hi = r["ci"]
        assert 0 <= lo <= r["accuracy"] <= hi <= 1, name
        assert set(r["per_class_accuracy"]) == {"negative", "positive"}, name
        if name != "bridge":
            assert all(0 <= q <= 1 for q in r["mcnemar_p_per_seed"]) and {t["bridge_seed"] for t in r["mcnemar"]} == {0, 1}, name
            assert r["verdict"] in ("bridge better", "bridge worse", "inconclusive", "equivalent within ±2 pp (TOST)"), name
    assert len(res["bridge"]["runs"]) == 2 and all(len(r["preds"]) == 16 for r in res["bridge"]["runs"])
    assert len(res["baselines"]["target_few_shot"]["runs"]) == 2


def test_trained_runs_can_be_loaded_instead_of_retrained(tiny, tmp_path):
    cfg, src, tgt = tiny
    run = tmp_path / "seed7"
    train(make_config("tiny", steps=3, seed=7, quick_eval_every=0, run_dir=str(run)), progress=False)
    base = make_config("tiny", steps=3, eval_size=12, quick_eval_every=0)
    res = run_baselines(base, checkpoints=[str(run)], which="majority,shuffled_source,prompt_tuning",
                        source=src, target=tgt, progress=False)
    assert res["bridge_seeds"] == [7] and res["bridge"]["runs"][0]["checkpoint"].endswith("step-000003")
    assert set(res["baselines"]) == {"majority", "shuffled_source", "prompt_tuning"}
    assert res["baselines"]["shuffled_source"]["bridge_seed"] == 7 and res["train_rows_seen"] == 24
    with pytest.raises(TelepathyError, match="soft_tokens is 4 there but 8 here"):
        run_baselines(make_config("tiny", soft_tokens=8), checkpoints=[str(run)], which="majority",
                      source=src, target=tgt, progress=False)
