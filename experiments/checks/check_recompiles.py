"""How often the compiled target body is compiled during training: the embedded preset's loop (quick evals included)
with the target under dynamo's guards but its eager backend (`compile_target_body(backend="eager")`: the same graph
capture and recompilation decisions as on a GPU, without code generation), counting the graphs captured and the
recompilations with their reasons. Issue 16 asked whether recompilation made the compiled loop's rate swing on the GPU.
Quick evals run eagerly unless the fourth argument is `compiled` (`quick_eval_compiled=true`, as every run did before).
Writes OUT/recompiles_cpu.json (OUT/recompiles_cpu_quick_compiled.json with `compiled`). Run from the repository root:
  TELEPATHY_DATA_DIR=../shared/data python experiments/checks/check_recompiles.py [OUT] [STEPS] [QUICK_EVAL_EVERY] [eager|compiled]"""
import logging, sys, tempfile, time
from pathlib import Path
import torch, torch._dynamo
from telepathy_nb.config import make_config
from telepathy_nb.core import atomic_write_json, code_revision, device_description
from telepathy_nb.pipeline import compile_target_body
from telepathy_nb.train import setup_training, run_training

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results/checks")
steps, every = (int(sys.argv[2]) if len(sys.argv) > 2 else 60), (int(sys.argv[3]) if len(sys.argv) > 3 else 20)
quick_compiled = len(sys.argv) > 4 and sys.argv[4] == "compiled"
reasons = []
class Reasons(logging.Handler):
    def emit(self, record): reasons.append(record.getMessage())
torch._logging.set_logs(recompiles=True)
logging.getLogger("torch._dynamo").addHandler(Reasons())
cfg = make_config("embedded", steps=steps, quick_eval_every=every, checkpoint_every=0, run_dir=tempfile.mkdtemp(),
                  quick_eval_compiled=quick_compiled)
st, quick = setup_training(cfg)
compile_target_body(st.pipe, backend="eager")
t0 = time.time(); res = run_training(st, quick, progress=True)
stats = torch._dynamo.utils.counters["stats"]
rec = {"command": "python experiments/checks/check_recompiles.py " + " ".join(sys.argv[1:]), "commit": code_revision(), "machine": device_description(),
       "preset": "embedded", "steps": steps, "quick_eval_every": every, "quick_eval_size": cfg.quick_eval_size,
       "quick_eval_compiled": quick_compiled, "status": res.status,
       "graphs": stats["unique_graphs"], "calls_captured": stats["calls_captured"], "recompiles": len(reasons),
       "recompile_reasons": [" ".join(r.split()) for r in reasons], "loop_seconds": round(time.time() - t0, 1)}
atomic_write_json(out / ("recompiles_cpu_quick_compiled.json" if quick_compiled else "recompiles_cpu.json"), rec)
print({k: v for k, v in rec.items() if k != "command"})
