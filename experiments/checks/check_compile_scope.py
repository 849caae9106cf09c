"""What does compiling the target's decoder layers one by one (regional compilation) save at startup? Gemma-3-270m's body
(the embedded target) runs forward and backward at batch 16 x 40 positions in a fresh process per scope, each with an
empty inductor cache: eager, `compile_target_body(scope="layers")` and `scope="body"`. Prints and writes the first
step's seconds (compilation included), the next STEPS steps' seconds, and dynamo's graph counts to
OUT/compile_scope_<device>.json. Run from the repository root:
  python experiments/checks/check_compile_scope.py [OUT] [STEPS]"""
import json, os, subprocess, sys, tempfile, time
from pathlib import Path

def measure(scope: str, steps: int) -> dict:
    "One scope in this process (called in a fresh one per scope): first step, the next `steps`, dynamo's counters."
    import torch, torch._dynamo
    from types import SimpleNamespace
    from telepathy_nb.models import load_model
    from telepathy_nb.pipeline import compile_target_body
    device = "cuda" if torch.cuda.is_available() else "cpu"
    lm = load_model("gemma-3-270m", device=device)
    for p in lm.model.parameters(): p.requires_grad_(False)
    if scope != "eager": compile_target_body(SimpleNamespace(target=lm), scope=scope)     # only .target is read
    x = torch.randn(16, 40, lm.width, device=device, requires_grad=True)
    def step():
        lm.model.model(inputs_embeds=x, use_cache=False).last_hidden_state.float().pow(2).mean().backward()
        if device == "cuda": torch.cuda.synchronize()
    t0 = time.time(); step(); first = time.time() - t0
    t1 = time.time()
    for _ in range(steps): step()
    return {"scope": scope, "first_step_s": round(first, 2), "next_steps_s": round(time.time() - t1, 2), "steps": steps,
            **{k: torch._dynamo.utils.counters["stats"][k] for k in ("unique_graphs", "calls_captured")}}

if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--one":
    print(json.dumps(measure(sys.argv[2], int(sys.argv[3]))))
elif __name__ == "__main__":
    import torch
    from telepathy_nb.core import atomic_write_json, code_revision, device_description
    from telepathy_nb.report import markdown_table
    out, steps = Path(sys.argv[1] if len(sys.argv) > 1 else "results/checks"), int(sys.argv[2]) if len(sys.argv) > 2 else 5
    res = {"command": "python experiments/checks/check_compile_scope.py " + " ".join(sys.argv[1:]), "commit": code_revision(),
           "machine": device_description(), "model": "gemma-3-270m (body: forward + backward)", "batch": [16, 40], "runs": []}
    for scope in ("eager", "layers", "body"):
        env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": tempfile.mkdtemp()}                 # cold: nothing compiled before
        line = subprocess.run([sys.executable, __file__, "--one", scope, str(steps)], env=env, capture_output=True, text=True, check=True)
        res["runs"].append(json.loads(line.stdout.strip().splitlines()[-1]))
        atomic_write_json(out / f"compile_scope_{'cuda' if torch.cuda.is_available() else 'cpu'}.json", res)
    print(markdown_table(["scope", "first step s (compile included)", f"next {steps} steps s", "graphs", "calls captured"],
                         [[r["scope"], r["first_step_s"], r["next_steps_s"], r["unique_graphs"], r["calls_captured"]] for r in res["runs"]]))
