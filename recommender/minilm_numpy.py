"""all-MiniLM-L6-v2 for one query at a time, in NumPy: the app encodes free text without importing torch.

Why: the app encodes one short text per search. torch plus sentence-transformers cost ~310 MB of
resident memory before the first query (~360 MB after it); this forward pass needs the 90 MB of
weights and NumPy, which the app loads anyway, and takes a few milliseconds for a 20-token query.
The offline index build keeps sentence-transformers (batched, bf16); tests check that both give the
same vectors (cosine > 0.9999), so queries and the index stay in one space.

The model is the package's files, read as they are (from a folder or as bytes from an archive):
``tokenizer.json`` through the ``tokenizers`` library (the same fast tokenizer transformers uses),
``model.safetensors`` through ``safetensors.numpy``. Architecture (config.json): BERT, 6 layers, hidden 384, 12 heads, GELU,
LayerNorm eps 1e-12, absolute positions; then mean pooling and L2 normalisation (modules.json).
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from scipy.special import erf

MAX_TOKENS = 256  # sentence_bert_config.json: max_seq_length
# Python floats, not NumPy float64 scalars: under NumPy 2's promotion rules a float64 scalar turns the float32
# activations into float64, and every matmul after it then converts its weights (measured: 4x slower).
SQRT_HALF = math.sqrt(0.5)


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """The exact (erf) GELU that BERT's "gelu" means."""
    return 0.5 * x * (1.0 + erf(x * SQRT_HALF))


class NumpyMiniLM:
    """``encode(text)`` -> (1, 384) float32 unit vector, as SentenceTransformer(...).encode would give."""

    FILES = ("config.json", "tokenizer.json", "model.safetensors")  # all it reads

    def __init__(self, model_dir: Path) -> None:
        self._load({name: (model_dir / name).read_bytes() for name in self.FILES}, str(model_dir))

    @classmethod
    def from_files(cls, files: Mapping[str, bytes], source: str = "the model files") -> NumpyMiniLM:
        """From the FILES' bytes (e.g. read from a package's zip archive without extracting it)."""
        encoder = cls.__new__(cls)
        encoder._load(files, source)
        return encoder

    def _load(self, files: Mapping[str, bytes], source: str) -> None:
        from safetensors.numpy import load
        from tokenizers import Tokenizer

        config = json.loads(files["config.json"])
        if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
            raise ValueError(f"{source} is not the BERT/GELU model this encoder implements")
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.tokenizer = Tokenizer.from_str(files["tokenizer.json"].decode("utf-8"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        weights = load(files["model.safetensors"])
        self.w = {name: np.ascontiguousarray(array, dtype=np.float32) for name, array in weights.items()
                  if array.dtype != np.int64}
        # Linear layers as (in, out) so x @ W needs no transpose per call.
        for name in list(self.w):
            if name.endswith(".weight") and self.w[name].ndim == 2 and not name.startswith("embeddings."):
                self.w[name] = np.ascontiguousarray(self.w[name].T)

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[f"{name}.weight"] + self.w[f"{name}.bias"]

    def encode(self, text: str) -> np.ndarray:
        encoding = self.tokenizer.encode(text)
        ids = np.asarray(encoding.ids, dtype=np.int64)
        types = np.asarray(encoding.type_ids, dtype=np.int64)
        w = self.w
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][: len(ids)]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        tokens, width = x.shape
        head = width // self.heads
        for layer in range(self.layers):
            prefix = f"encoder.layer.{layer}"
            q, k, v = (self._linear(x, f"{prefix}.attention.self.{part}").reshape(tokens, self.heads, head).transpose(1, 0, 2)
                       for part in ("query", "key", "value"))
            scores = q @ k.transpose(0, 2, 1) * (1.0 / math.sqrt(head))
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            context = (scores / scores.sum(axis=-1, keepdims=True)) @ v
            attended = self._linear(context.transpose(1, 0, 2).reshape(tokens, width), f"{prefix}.attention.output.dense")
            x = _layer_norm(attended + x, w[f"{prefix}.attention.output.LayerNorm.weight"],
                            w[f"{prefix}.attention.output.LayerNorm.bias"], self.eps)
            hidden = _gelu(self._linear(x, f"{prefix}.intermediate.dense"))
            x = _layer_norm(self._linear(hidden, f"{prefix}.output.dense") + x, w[f"{prefix}.output.LayerNorm.weight"],
                            w[f"{prefix}.output.LayerNorm.bias"], self.eps)
        pooled = x.mean(axis=0, keepdims=True)  # one text, no padding: every token counts
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)
