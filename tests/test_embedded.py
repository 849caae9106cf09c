"""The embedded pair for real: SmolLM2-135M-Instruct and Gemma-3-270m from their PyPI packages.

The first run de-quantises both GGUF files into the cache (about two minutes on 2 cores); later runs
load the safetensors cache in seconds.
"""
import importlib.util
import pytest
import torch
from telepathy_nb.models import load_model, source_states, embedding_rms, EMBEDDED

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(s.package) is None for s in EMBEDDED.values()),
    reason="embedded model packages missing: `make install` installs them")


@pytest.fixture(scope="module")
def pair():
    return load_model("smollm2-135m-instruct", device="cpu"), load_model("gemma-3-270m", device="cpu")


def test_shapes_and_frozen(pair):
    smol, gemma = pair
    assert (smol.n_layers, smol.width, len(smol.tokenizer)) == (30, 576, 49152)
    assert (gemma.n_layers, gemma.width) == (18, 640) and gemma.model.config.vocab_size == 262144
    for lm in pair:
        assert not lm.model.training and not any(p.requires_grad for p in lm.model.parameters())


@pytest.mark.parametrize("layer", [1, 15, 29])
def test_layer_states_equal_full_forward(pair, layer):
    smol, _ = pair
    enc = smol.tokenizer(["Review: it 's a charming and often affecting journey . \nSentiment:", "Review: dull\nSentiment:"],
                         return_tensors="pt", padding=True)
    with torch.no_grad():
        full = smol.model(**enc, output_hidden_states=True).hidden_states[layer]
        ours = source_states(smol.model, enc.input_ids, enc.attention_mask, layer)
    real = enc.attention_mask.bool()
    assert torch.allclose(ours[real], full[real], rtol=1e-4, atol=1e-3)


def test_gemma_embedding_scale_is_measured_after_its_internal_scaling(pair):
    _, gemma = pair
    raw = gemma.model.get_input_embeddings().weight.float().pow(2).mean(-1).sqrt().median().item()
    scaled = embedding_rms(gemma.model)
    assert abs(scaled / raw - 640 ** 0.5) / 640 ** 0.5 < 0.01   # Gemma multiplies by sqrt(width) inside embed_tokens


def test_label_verbalisers_are_single_tokens_for_gemma(pair):
    _, gemma = pair
    for word in (" positive", " negative"):
        assert len(gemma.tokenizer(word, add_special_tokens=False).input_ids) == 1
