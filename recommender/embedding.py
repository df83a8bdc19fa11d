"""Sentence-embedding recommender: normalised MiniLM vectors in an exact FAISS inner-product index.

Why exact (IndexFlatIP): at 4.8k-45k films a flat scan takes well under the latency budget, so an
approximate index would only add a recall loss to measure and explain. Inner product of unit vectors
is cosine similarity.

Item-to-item reads the stored vectors back from the index (``reconstruct``): no model.
Free text needs the sentence model, loaded on the first ``search`` only.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recommender.base import Neighbours
from recommender.ranking import PAD_ROW, PAD_SCORE
from recommender.sentence_model import LazySentenceModel

if TYPE_CHECKING:
    import faiss

# Measured with faiss-cpu 1.15.1 on 2 shared cores (45k × 384, k=11):
# * one query: faiss' own SIMD scan with one OpenMP thread takes ~3 ms; with two threads ~6-15 ms (the
#   second core is often busy: OpenMP waits for it), through BLAS ~13 ms. So single queries run on one
#   thread with faiss' default BLAS threshold, which keeps them on the SIMD path.
# * a batch: BLAS is several times faster (64 queries: 32 ms vs 200 ms), so ``similar_batch`` lowers the
#   threshold for its own call, under a lock, and uses every core.
BATCH_BLAS_THRESHOLD = 16
_threshold_lock = threading.Lock()


def flat_index(vectors: np.ndarray) -> faiss.IndexFlatIP:
    """An exact inner-product index holding ``vectors`` (float32, unit rows) in row order."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return index


def read_index(path: Path) -> faiss.Index:
    import faiss

    return faiss.read_index(str(path))


def write_index(index: faiss.Index, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def _drop_self(found: np.ndarray, scores: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """From (n, k+1) results, remove each query's own row (or the last entry if it is absent)."""
    valid = (found != rows[:, None]) & (found >= 0)
    order = np.argsort(~valid, axis=1, kind="stable")[:, :k]  # valid entries first, rank order kept
    kept_rows = np.take_along_axis(found, order, axis=1)
    kept_scores = np.take_along_axis(scores, order, axis=1)
    kept_valid = np.take_along_axis(valid, order, axis=1)
    return np.where(kept_valid, kept_rows, PAD_ROW), np.where(kept_valid, kept_scores, PAD_SCORE).astype(np.float32)


class EmbeddingRecommender:
    """Cosine similarity of sentence embeddings, exact search in FAISS."""

    def __init__(
        self, index: faiss.Index, model: LazySentenceModel | None = None, name: str = "embedding",
        label: str = "Embeddings (MiniLM + FAISS)",
    ) -> None:
        self.name = name
        self.label = label
        self.index = index
        self.model = model or LazySentenceModel()

    def __len__(self) -> int:
        return self.index.ntotal

    @property
    def dimension(self) -> int:
        return self.index.d

    def similar(self, row: int, k: int) -> Neighbours:
        """Nearest stored vectors to the film's own stored vector, the film itself excluded."""
        import faiss

        faiss.omp_set_num_threads(1)  # per calling thread (OpenMP keeps it per thread): see the note above
        rows = np.array([row], dtype=np.int64)
        scores, found = self.index.search(self.index.reconstruct_batch(rows), min(k + 1, self.index.ntotal))
        kept_rows, kept_scores = self._trim(found, scores, rows, k)
        valid = kept_rows[0] >= 0
        return Neighbours(kept_rows[0][valid], kept_scores[0][valid])

    def pair_scores(self, row: int, candidates: np.ndarray) -> np.ndarray:
        """The cosine of ``row`` with each candidate row, from the stored vectors: a ranker feature."""
        candidates = np.asarray(candidates, dtype=np.int64)
        return self.index.reconstruct_batch(candidates) @ self.index.reconstruct(int(row))

    def similar_batch(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """One batched FAISS search (BLAS, every core) for all rows; (len(rows), k), padded with row -1."""
        import faiss

        rows = np.asarray(rows, dtype=np.int64)
        queries = self.index.reconstruct_batch(rows)
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        with _threshold_lock:
            default = faiss.cvar.distance_compute_blas_threshold
            faiss.cvar.distance_compute_blas_threshold = BATCH_BLAS_THRESHOLD
            try:
                scores, found = self.index.search(queries, min(k + 1, self.index.ntotal))
            finally:
                faiss.cvar.distance_compute_blas_threshold = default
        return self._trim(found, scores, rows, k)

    @staticmethod
    def _trim(found: np.ndarray, scores: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Drop each query's own row and pad to exactly k columns."""
        kept_rows, kept_scores = _drop_self(found, scores, rows, k)
        if kept_rows.shape[1] < k:  # k + 1 > catalog size: pad to the promised width
            width = k - kept_rows.shape[1]
            kept_rows = np.pad(kept_rows, ((0, 0), (0, width)), constant_values=PAD_ROW)
            kept_scores = np.pad(kept_scores, ((0, 0), (0, width)), constant_values=PAD_SCORE)
        return kept_rows, kept_scores

    def search(self, text: str, k: int) -> Neighbours:
        """Encode the text with the sentence model (loaded on first call) and search the index."""
        import faiss

        query = self.model.encode_query(text)
        faiss.omp_set_num_threads(1)
        scores, found = self.index.search(query, min(k, self.index.ntotal))
        valid = found[0] >= 0
        return Neighbours(found[0][valid].astype(np.int64), scores[0][valid].astype(np.float32))
