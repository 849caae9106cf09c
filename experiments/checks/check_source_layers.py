"""Which of the source's layers says most about the label: a linear probe (standardised logistic regression, C by
5-fold CV on the training rows, `baselines.cv_probe`) on the last-token and on the mean-pooled state of every layer of
SmolLM2-135M, trained on N SST-2 training rows and scored on the 500 held-out training rows that no run trains on
(never validation rows). The embedded preset reads layer 15; a layer whose probe is clearly better is a candidate
`source_layer`. Writes OUT/source_layers_cpu.json (after every layer) and prints one line per layer. On this 2-core CPU
each layer's two probes take about 1.5 min at N = 2,000, so LAYERS (comma-separated, default all) picks a subset.
Run from the repository root:  TELEPATHY_DATA_DIR=../shared/data python experiments/checks/check_source_layers.py [OUT] [N] [LAYERS]"""
import sys, time
from pathlib import Path
import numpy as np
import torch
from tqdm import tqdm
from telepathy_nb.baselines import cv_probe
from telepathy_nb.bridge import masked_mean
from telepathy_nb.config import make_config
from telepathy_nb.core import atomic_write_json, code_revision, device_description
from telepathy_nb.data import heldout_rows, training_rows
from telepathy_nb.pipeline import build_pipeline

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results/checks")
n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
only = [int(x) for x in sys.argv[3].split(",")] if len(sys.argv) > 3 else None
cfg = make_config("embedded", holdout_rows=500)
pipe = build_pipeline(cfg, "cpu")

@torch.no_grad()
def layer_features(rows, layers, batch_size=32):
    "Per layer in `layers` (1-based): last-token and mean-pooled states (N, d) of the bridge's source prompts."
    last, mean = [], []
    for i in tqdm(range(0, len(rows), batch_size), desc="source states", leave=False):
        b = pipe.collator(rows[i:i + batch_size])
        m = b["source_mask"]
        hs = pipe.source.model(input_ids=b["source_ids"], attention_mask=m, output_hidden_states=True, use_cache=False).hidden_states
        idx = torch.arange(m.shape[0]), m.sum(1) - 1
        last.append(torch.stack([hs[l][idx].float() for l in layers])); mean.append(torch.stack([masked_mean(hs[l].float(), m) for l in layers]))
    return torch.cat(last, 1).numpy(), torch.cat(mean, 1).numpy()          # (layers, N, d) each

t0 = time.time()
train, held = training_rows("sst2", n=n, seed=0, holdout=500), heldout_rows("sst2", 500)
layers = only or list(range(1, pipe.source.model.config.num_hidden_layers + 1))
(tr_last, tr_mean), (ho_last, ho_mean) = layer_features(train, layers), layer_features(held, layers)
y, y_ho = [r["label"] for r in train], np.array([r["label"] for r in held])
res = {"command": "python experiments/checks/check_source_layers.py " + " ".join(sys.argv[1:]), "commit": code_revision(),
       "machine": device_description(), "source_model": cfg.source_model, "preset_layer": cfg.source_layer, "task": "sst2",
       "train_rows": n, "train_seed": 0, "heldout_rows": len(held), "majority_heldout": float(max(y_ho.mean(), 1 - y_ho.mean())),
       "layers": {}}
for j, layer in enumerate(layers):
    rec = {}
    for pool, tr, ho in (("last", tr_last, ho_last), ("mean", tr_mean, ho_mean)):
        pred, c = cv_probe(tr[j], y, ho[j], seed=0)
        rec[pool] = {"heldout_accuracy": float((pred == y_ho).mean()), "C": c}
    res["layers"][layer], res["seconds"] = rec, round(time.time() - t0, 1)
    atomic_write_json(out / "source_layers_cpu.json", res)
    print(f"layer {layer:2d}: last {rec['last']['heldout_accuracy']:.3f}  mean {rec['mean']['heldout_accuracy']:.3f}", flush=True)
