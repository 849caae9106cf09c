"""Every number in the README's result tables comes from a committed JSON in results/."""
import importlib.util, json, re
import numpy as np
from pathlib import Path
from telepathy_nb.report import sync_docs, study_table, result_markdown, bench_markdown

ROOT = Path(__file__).resolve().parents[1]


def check_script(name: str):
    "experiments/checks/NAME.py imported as a module (for the rule a result's JSON applied)."
    spec = importlib.util.spec_from_file_location(name, ROOT / "experiments" / "checks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_and_pages_match_the_json():
    "README.md is nbs/index.ipynb's, and every result block and value in it and in docs/*.md is what results/ makes."
    problems = sync_docs(ROOT, check=True)
    assert problems == [], "\n".join(problems) + "\nrun `telepathy results` to regenerate the pages"


def test_every_result_says_where_it_came_from():
    files = sorted((ROOT / "results").glob("*.json"))
    assert files, "results/ holds the studies the README reports"
    for f in files:
        res = json.loads(f.read_text())
        if res.get("kind") in ("bench", "loop_speed"):   # speed: the command, commit and machine; every timing it reports
            command = re.sub(r"^(\w+=(\"[^\"]*\"|\S+) )+", "", res["command"])   # environment settings first are fine
            assert command.startswith(("telepathy bench", "bash experiments/gpu/gpu_")) and res["commit"] and res["machine"], f.name
            if res["kind"] == "bench":
                assert res["complete"] or "INCOMPLETE" in bench_markdown(res), f.name
                assert res["train"] and all(len(r["samples_per_s_runs"]) == res["repeats"] for r in res["train"]), f.name
            else:
                assert all(r["samples_per_s"] and len(r["steps"]) == len(r["samples_per_s"]) for r in res["runs"].values()), f.name
            continue
        if res.get("kind") == "run_phases":               # where a run's seconds go: phases that add up to each run's wall time
            assert res["command"].startswith("python experiments/checks/check_run_phases.py ") and res["commit"] and res["machine"], f.name
            assert res["runs"] and all(abs(sum(r["phases"].values()) - r["wall_s"]) < 0.5 for r in res["runs"].values()), f.name
            continue
        if res.get("kind") == "source_ceiling":           # a prompt-tuning ceiling: the script, commit, machine; each run's seed and rows
            assert res["command"].startswith("python experiments/checks/check_source_ceiling.py ") and res["commit"] and res["machine"], f.name
            assert res["runs"] and all({"seed", "role", "accuracy", "eval_rows", "lr"} <= set(r) for r in res["runs"].values()), f.name
            for r in res["runs"].values():                # runs since issue 34 keep their predictions: the accuracy is theirs
                if "preds" in r: assert r["accuracy"] == np.mean(np.array(r["preds"]) == res["labels"]), f.name
            continue
        if res.get("kind") == "message":                  # does the message add anything: every method's predictions, lr rule, comparisons
            from telepathy_nb.baselines import best_lr
            assert res["command"].startswith("python experiments/checks/check_message.py ") and res["commit"] and res["machine"], f.name
            assert set(res.get("lacking", {})) <= set(res["points"]), f.name
            for key, pt in res["points"].items():          # a point lacks only the methods `lacking` names
                assert [m for m in res["methods"] if m not in pt["methods"]] == res.get("lacking", {}).get(key, []), (f.name, key)
                for m in pt["methods"]:
                    r = pt["methods"][m]
                    assert len(r["preds"]) == len(res["labels"]) and r["accuracy"] == np.mean(np.array(r["preds"]) == res["labels"]), (f.name, key, m)
                    assert r["lr"] == best_lr({float(x): t["heldout_accuracy"] for x, t in r["trials"].items()}), (f.name, key, m)
            for n, c in res["comparisons"].items():       # each difference is the mean accuracy difference over the seeds both ran
                at = [p for p in res["points"].values() if p["n"] == int(n)]
                assert sorted(p["seed"] for p in at if "message" in p["methods"]) == c["seeds"], (f.name, n)
                for m, r in c["vs"].items():
                    both = [p for p in at if "message" in p["methods"] and m in p["methods"]]
                    assert sorted(p["seed"] for p in both) == r.get("seeds", c["seeds"]), (f.name, n, m)
                    gap = np.mean([p["methods"]["message"]["accuracy"] - p["methods"][m]["accuracy"] for p in both])
                    assert abs(r["difference"]["diff"] - gap) < 1e-9, (f.name, n, m)
            if "goal" in res:                             # the goal's verdict is what its rule gives on these comparisons
                assert res["goal"] == check_script("check_message").goal(res), f.name
            continue
        if res.get("kind") == "token_budget":             # the bridge per K against the target reading the text cut to T tokens
            assert res["command"].startswith("python experiments/checks/check_token_budget.py ") and res["commit"] and res["machine"], f.name
            files = res["bridge_runs"] if isinstance(res["bridge_runs"], dict) else dict.fromkeys(res["bridge"], res["bridge_runs"])
            for k, b in res["bridge"].items():            # the bridge's predictions are the study's own, seed by seed
                study = json.loads((ROOT / files[k]).read_text())["runs"]
                stored = {r["seed"]: r["preds"] for r in study.values() if r["overrides"].get("soft_tokens") == int(k)
                          and r["overrides"].get("task") == res["task"]}
                assert b["preds"] == [stored[s] for s in res["seeds"]], (f.name, k)
            runs = [(f"bridge {k}", a, p) for k, b in res["bridge"].items() for a, p in zip(b["accuracy"], b["preds"])]
            runs += [(f"probe {t}", a, p) for t, r in res["text"].items() if "probe" in r for a, p in zip(r["probe"]["accuracy"], r["probe"]["preds"])]
            runs += [(f"zero-shot {t}", r["zero_shot"]["accuracy"], r["zero_shot"]["preds"]) for t, r in res["text"].items() if "zero_shot" in r]
            for name, acc, preds in runs:                 # every accuracy is its predictions'
                assert len(preds) == len(res["labels"]) and abs(acc - np.mean(np.array(preds) == res["labels"])) < 1e-12, (f.name, name)
            for k, c in res["comparisons"].items():       # each difference is the seeds' mean accuracy gap
                for m, r in c["vs"].items():
                    t = "full" if m == "text_full" else m.removeprefix("text_cut_")
                    gap = np.mean(res["bridge"][k]["accuracy"]) - np.mean(res["text"][t]["probe"]["accuracy"])
                    assert abs(r["difference"]["diff"] - gap) < 1e-9, (f.name, k, m)
            continue
        if res.get("kind") == "curve_probes":             # the curve's bridge against CV probes of its source
            assert res["command"].startswith("python experiments/checks/check_curve_probes.py ") and res["commit"] and res["machine"], f.name
            curves = [json.loads((ROOT / "results" / c).read_text()) for c in res["curves"]]
            stored = {k: r for c in curves for k, r in c["runs"].items()}
            for key, pt in res["points"].items():         # the bridge's predictions are the curve's own, every probe's accuracy its predictions'
                assert pt["bridge_preds"] == stored[key]["preds"]["bridge"], (f.name, key)
                for m, r in pt["probes"].items():
                    assert len(r["preds"]) == len(res["labels"]) and r["accuracy"] == np.mean(np.array(r["preds"]) == res["labels"]), (f.name, key, m)
            for n, c in res["comparisons"].items():
                at = [p for p in res["points"].values() if p["n"] == int(n)]
                for m, r in c["vs"].items():
                    gap = np.mean([p["bridge_accuracy"] - p["probes"][m]["accuracy"] for p in at])
                    assert abs(r["difference"]["diff"] - gap) < 1e-9, (f.name, n, m)
            continue
        assert {"command", "commit", "machine", "seeds", "axes", "preset", "eval_on"} <= set(res), f.name
        assert res["command"].startswith(("telepathy study ", "telepathy curves ", "telepathy run baselines ", "telepathy run train_bridge ", "make demo")) and len(res["commit"]) >= 7
        if res.get("kind") == "run":
            assert res["status"] == "success" and 0 <= res["bridge"]["accuracy"] <= 1, f.name
            continue
        if res.get("kind") == "baselines":
            b = res["baselines"]
            assert b["bridge_seeds"] == res["seeds"] and all("verdict" in r for r in b["baselines"].values()), f.name
            r = res.get("rescored")                       # comparisons recomputed later: by the script, at a clean commit
            assert not r or (r["command"].startswith("python experiments/rescore_baselines.py ") and len(r["commit"]) == 40), f.name
            continue
        if res.get("kind") == "curves":   # every point: every method's prediction for every validation row
            from telepathy_nb.baselines import CURVE_METHODS
            for key, run in res["runs"].items():
                assert set(run["preds"]) == set(res.get("methods") or CURVE_METHODS) and {len(p) for p in run["preds"].values()} == {len(res["labels"])}, (f.name, key)
                assert run["seed"] in res["seeds"] and run["rows_seen"] <= run["n"], (f.name, key)
            continue
        for key, run in res["runs"].items():
            assert 0 <= run["accuracy"] <= 1 and run["n"] > 0 and run["seed"] in res["seeds"], (f.name, key)
            assert run["status"] in ("success", "diverged"), (f.name, key)   # a diverged run is a finding, shown as such:
        diverged = sum(r["status"] == "diverged" for r in res["runs"].values())
        assert study_table(res)["diverged"].sum() == diverged and len(study_table(res)) >= 1, f.name
        assert ("| diverged |" in result_markdown(res)) == (diverged > 0), f.name


def test_readme_is_a_front_door():
    "At most 200 lines, exactly two commands in the quick start, and every documentation page one click away."
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200, len(text.splitlines())
    quick = text.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    assert [l.split("#")[0].strip() for l in quick.strip().splitlines()] == ["make demo", "make test"]
    linked = set(re.findall(r"\]\((docs/[\w.-]+\.md)", text))
    assert linked == {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")}, linked


def test_every_link_in_the_pages_resolves():
    "Relative links of README.md and docs/*.md name files that exist (a reader gets from the README to any number in two clicks)."
    from telepathy_nb.report import doc_pages
    for page in doc_pages(ROOT):
        for url in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"^([a-z]+:|#)", url): continue
            assert (page.parent / url.split("#")[0]).exists(), f"{page.name} links to a missing {url}"


def test_recorded_commands_name_files_that_exist():
    "Every results JSON (checks included) names the command that makes it again: a telepathy or make command, or a file here."
    for f in sorted((ROOT / "results").rglob("*.json")):
        res = json.loads(f.read_text())
        commands = [res.get("regenerated_by") or res["command"]] + [c["command"] for c in res.get("continued", [])]
        commands += [res["rescored"]["command"]] if res.get("rescored") else []
        for c in commands:
            c = re.sub(r"^(\w+=(\"[^\"]*\"|\S+) )+", "", c)                       # environment settings first are fine
            if c.startswith(("telepathy ", "make ")): continue
            script = re.sub(r"^(python|bash) ", "", c).split()[0]
            assert (ROOT / script).is_file(), f"{f.relative_to(ROOT)} was made by {c!r}: {script} is not in the repository"


def test_a_repeated_message_point_is_the_same_point():
    "TREC's seed-9 main point, run twice on one H100 (docs/validity.md says so): the repeat holds the same lrs, held-out "
    "scores and per-row predictions as the point merged into results/message_trec_s10.json; only its seconds differ."
    raw = ROOT / "experiments" / "raw" / "message_trec_s10"
    repeat = json.loads((raw / "repeat_message_trec_main_seed9.json").read_text())["points"]["n=2000,seed=9"]
    first = json.loads((raw / "message_trec_main_w2_3.json").read_text())["points"]["n=2000,seed=9"]
    merged = json.loads((ROOT / "results" / "message_trec_s10.json").read_text())["points"]["n=2000,seed=9"]
    assert repeat["seconds"] != first["seconds"], "two runs, not one file twice"
    assert first["methods"].items() <= merged["methods"].items(), "the first run is the one merged"
    assert set(repeat["methods"]) == {"prompt_K", "prompt_2K", "message", "self_message", "label_message"}
    for m, r in repeat["methods"].items():
        assert r == merged["methods"][m], m
