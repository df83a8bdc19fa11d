"""all-MiniLM-L6-v2 for one query at a time, in NumPy: the app encodes free text without importing torch.

Why: the app encodes one short text per search. torch plus sentence-transformers cost ~310 MB of
resident memory before the first query (~360 MB after it); this forward pass needs the 90 MB of
weights and NumPy, which the app loads anyway, and takes a few milliseconds for a 20-token query.
The offline index build keeps sentence-transformers (batched, bf16); tests check that both give the
same vectors (cosine > 0.9999), so queries and the index stay in one space.

The model is the package's files, read as they are (from a folder or streamed from an archive):
``tokenizer.json`` through the ``tokenizers`` library (the same fast tokenizer transformers uses),
``model.safetensors`` by ``read_safetensors``, each tensor read straight into its own array.
Architecture (config.json): BERT, 6 layers, hidden 384, 12 heads, GELU,
LayerNorm eps 1e-12, absolute positions; then mean pooling and L2 normalisation (modules.json).
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

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


class Readable(Protocol):
    def readinto(self, buffer: memoryview, /) -> int | None: ...


SAFETENSORS_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
                      "U8": "u1", "BOOL": "?"}


def _fill(stream: Readable, buffer: memoryview, source: str) -> None:
    done = 0
    while done < len(buffer):
        got = stream.readinto(buffer[done:])
        if not got:
            raise ValueError(f"{source} ends early (a truncated safetensors file)")
        done += got


def read_safetensors(stream: Readable, source: str = "model.safetensors") -> dict[str, np.ndarray]:
    """A safetensors file's tensors (format: u64 header length, JSON header, raw little-endian data), each read
    from ``stream`` straight into its own array. Why not ``safetensors.numpy.load(bytes)``: that holds the
    file's bytes and a copy of every tensor at once; measured in the app at 45k films, loading MiniLM that
    way raised its peak memory by ~110 MB more than the 90 MB of weights it keeps."""
    size = bytearray(8)
    _fill(stream, memoryview(size), source)
    header_bytes = bytearray(int.from_bytes(size, "little"))
    _fill(stream, memoryview(header_bytes), source)
    header = json.loads(header_bytes)
    header.pop("__metadata__", None)
    tensors: dict[str, np.ndarray] = {}
    position = 0
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"][0]):
        begin, end = entry["data_offsets"]
        array = np.empty(entry["shape"], dtype=SAFETENSORS_DTYPES[entry["dtype"]])
        if begin != position or end - begin != array.nbytes:
            raise ValueError(f"{source}: tensor {name} is not where its header says ({begin}..{end})")
        _fill(stream, memoryview(array.reshape(-1)).cast("B"), source)
        tensors[name] = array
        position = end
    return tensors


class NumpyMiniLM:
    """``encode(text)`` -> (1, 384) float32 unit vector, as SentenceTransformer(...).encode would give."""

    FILES = ("config.json", "tokenizer.json", "model.safetensors")  # all it reads

    def __init__(self, model_dir: Path) -> None:
        with (model_dir / "model.safetensors").open("rb") as weights:
            self._load((model_dir / "config.json").read_bytes(), (model_dir / "tokenizer.json").read_bytes(),
                       read_safetensors(weights, str(model_dir / "model.safetensors")), str(model_dir))

    @classmethod
    def from_parts(cls, config: bytes, tokenizer: bytes, weights: Mapping[str, np.ndarray],
                   source: str = "the model files") -> NumpyMiniLM:
        """From config.json's and tokenizer.json's bytes and the tensors (e.g. streamed from a package's zip
        archive without extracting it, see ``recommender.sentence_model.load_query_encoder``)."""
        encoder = cls.__new__(cls)
        encoder._load(config, tokenizer, weights, source)
        return encoder

    def _load(self, config_bytes: bytes, tokenizer: bytes, weights: Mapping[str, np.ndarray], source: str) -> None:
        from tokenizers import Tokenizer

        config = json.loads(config_bytes)
        if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
            raise ValueError(f"{source} is not the BERT/GELU model this encoder implements")
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.tokenizer = Tokenizer.from_str(tokenizer.decode("utf-8"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
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
