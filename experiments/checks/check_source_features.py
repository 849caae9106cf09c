"""How the source's layer-L states spread their energy over features: SmolLM2-135M layer 15 (the embedded preset) on
32 SST-2 training texts, per-feature RMS over real tokens, the largest five, the median, and the top five's share of the
total energy. Why `source_norm=layernorm` matters (see the README's preset search). Writes OUT/source_features_cpu.json.
Run from the repository root:  TELEPATHY_DATA_DIR=../shared/data python experiments/checks/check_source_features.py [OUT]"""
import sys
from pathlib import Path
import torch
from telepathy_nb.config import make_config
from telepathy_nb.core import atomic_write_json, code_revision, device_description
from telepathy_nb.data import load_split
from telepathy_nb.pipeline import build_pipeline

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results/checks")
cfg = make_config("embedded")
pipe = build_pipeline(cfg, "cpu")
batch = pipe.collator(list(load_split("sst2", "train", n=32, seed=0)))
with torch.no_grad(): states = pipe.source_states(batch).float()
tokens = states[batch["source_mask"].bool()]                       # (real tokens, d)
rms = tokens.pow(2).mean(0).sqrt().sort(descending=True).values
res = {"command": "python experiments/checks/check_source_features.py", "commit": code_revision(), "machine": device_description(),
       "source_model": cfg.source_model, "source_layer": cfg.source_layer, "texts": 32, "tokens": tokens.shape[0],
       "features": tokens.shape[1], "top5_feature_rms": rms[:5].tolist(), "median_feature_rms": rms.median().item(),
       "top5_energy_share": ((rms[:5] ** 2).sum() / (rms ** 2).sum()).item()}
atomic_write_json(out / "source_features_cpu.json", res)
print({k: v for k, v in res.items() if k not in ("command",)})
