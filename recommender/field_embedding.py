"""Per-field sentence embeddings: one MiniLM vector per film and field, similarity = weighted sum of cosines.

One long document per film lets the overview's many words drown the short fields people actually
co-like on (same director, same cast, a sequel's title). Here every field (``documents.FIELDS``) is
encoded on its own by ``scripts/build_index.py`` into ``embedding_fields.npy`` and

    similarity(q, j) = Σ_f w_f · cos(v_f(q), v_f(j))

with weights tuned on validation films (``tune_field_weights``). A missing field is a zero vector, so it
adds 0, whatever its weight. Only fields with a nonzero weight are kept, as float32, concatenated per
film into one (films, kept_fields × dimension) matrix: a batch of queries is then one matrix product,
``(X[rows] · w) @ Xᵀ``. Exact (no index): 4.8k films × a few hundred floats is a few ms per query.

That matrix is built on first use, not at start-up: the app answers item-to-item from the precomputed
lookups (``recommender.lookup``), so it needs the live matrix only for a list deeper than the lookup's.
At 45k films it is ~460 MB of float32 a serving process would otherwise hold for nothing; the float16
file behind it can be memory-mapped (``load_field_vectors(mmap=True)``), so it costs no memory either.

Free text is one description, not fields: ``search`` goes to the whole-document embedding model.
NumPy only: importing this module loads neither torch nor faiss.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from recommender.base import Neighbours, OnFirstUse, Recommender
from recommender.ranking import PAD_ROW, PAD_SCORE, top_k

if TYPE_CHECKING:
    from recommender.evaluation import GroundTruth

NAME = "embedding"
LABEL = "Embeddings por campo (MiniLM)"
WEIGHT_GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)  # per field, for tune_field_weights
MAX_ROUNDS = 10  # coordinate ascent stops earlier, as soon as a whole round changes nothing
BATCH_ROWS = 256  # query rows scored per matrix product: bounds the (rows × films) score block


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """float32 copy with every nonzero row scaled to length 1 (the file stores unit rows in float16, whose
    rounding leaves norms ~1e-3 off); zero rows (missing fields) stay zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def check_fields(fields: np.ndarray, field_names: Sequence[str]) -> None:
    if fields.ndim != 3 or fields.shape[0] != len(field_names):
        raise ValueError(f"fields must be (len(field_names)={len(field_names)}, films, dimension), got {fields.shape}")
    if len(set(field_names)) != len(field_names):
        raise ValueError(f"field names repeat: {list(field_names)}")


def rank_rows(scores: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best columns of each score row, its own ``rows[i]`` excluded; (len(rows), k), padded with
    PAD_ROW / PAD_SCORE. ``scores`` (rows × films) is overwritten at the excluded cells. Selection is
    ``ranking.top_k``'s, so ties go to the lower catalog row as in every other model."""
    films = scores.shape[1]
    out_rows = np.full((len(rows), k), PAD_ROW, dtype=np.int64)
    out_scores = np.full((len(rows), k), PAD_SCORE, dtype=np.float32)
    candidates = np.arange(films, dtype=np.int64)
    for position, row in enumerate(rows.tolist()):
        scores[position, row] = -np.inf
        found, values = top_k(candidates, scores[position], min(k, films))
        keep = values > -np.inf  # drops the film itself when k reaches the catalog size
        out_rows[position, : keep.sum()] = found[keep]
        out_scores[position, : keep.sum()] = values[keep]
    return out_rows, out_scores


class FieldEmbeddingRecommender:
    """Item-to-item by weighted per-field cosine; free text through the whole-document model."""

    def __init__(
        self, fields: np.ndarray, field_names: Sequence[str], weights: Mapping[str, float], text_model: Recommender,
        name: str = NAME, label: str = LABEL,
    ) -> None:
        """``fields``: (len(field_names), films, dimension), unit or zero rows (``load_field_vectors``);
        ``weights``: field -> weight, fields left out weigh 0; ``text_model``: answers ``search``."""
        check_fields(fields, field_names)
        unknown = sorted(set(weights) - set(field_names))
        if unknown:
            raise ValueError(f"weights for unknown fields {unknown}; the fields are {list(field_names)}")
        values = {name_: float(weights.get(name_, 0.0)) for name_ in field_names}
        if not all(np.isfinite(value) for value in values.values()):
            raise ValueError(f"field weights must be finite numbers: {values}")
        kept = [position for position, name_ in enumerate(field_names) if values[name_] != 0.0]
        if not kept:
            raise ValueError("at least one field needs a nonzero weight")
        self.name = name
        self.label = label
        self.field_names = [field_names[position] for position in kept]
        self.weights = {name_: values[name_] for name_ in self.field_names}
        self.text_model = text_model
        self.column_weights = np.repeat(np.array([values[name_] for name_ in self.field_names], dtype=np.float32),
                                        fields.shape[2])
        self._fields, self._kept, self._films = fields, kept, fields.shape[1]
        self._vectors = OnFirstUse(self._concatenated_fields)

    def _concatenated_fields(self) -> np.ndarray:
        vectors = np.ascontiguousarray(np.concatenate([unit_rows(self._fields[position]) for position in self._kept], axis=1))
        self._fields = None  # built: the (possibly memory-mapped) fields are let go
        return vectors

    @property
    def vectors(self) -> np.ndarray:
        """films × (kept fields · dimension) float32 unit rows: field f of film j is vectors[j, f·d : (f+1)·d].
        Built from the (possibly memory-mapped) fields on first use, once, then the fields are let go."""
        return self._vectors.get()

    @property
    def vectors_built(self) -> bool:
        """Whether the float32 matrix is in memory (the app, serving from lookups, should not need it)."""
        return self._vectors.built

    def __len__(self) -> int:
        return self._films

    def _queries(self, rows: np.ndarray) -> np.ndarray:
        return self.vectors[rows] * self.column_weights

    def pair_scores(self, row: int, candidates: np.ndarray) -> np.ndarray:
        """Σ_f w_f · cos(v_f(row), v_f(c)) for each candidate row c, float32 (the same similarity ``similar``
        ranks by; the film itself scores Σ w_f over its non-empty fields)."""
        candidates = np.asarray(candidates, dtype=np.int64)
        if candidates.size and candidates.min() < 0:  # a PAD_ROW would silently index the last film
            raise IndexError(f"candidate rows must be catalog rows (>= 0), got {candidates.min()}")
        query = self._queries(np.array([int(row)], dtype=np.int64))[0]
        return (self.vectors[candidates] @ query).astype(np.float32, copy=False)

    def similar(self, row: int, k: int) -> Neighbours:
        """The k films with the highest weighted per-field similarity, the film itself excluded."""
        rows, scores = self.similar_batch(np.array([int(row)], dtype=np.int64), k)
        valid = rows[0] >= 0
        return Neighbours(rows[0][valid], scores[0][valid])

    def similar_batch(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``similar`` for many rows, one matrix product per block; (len(rows), k), padded with row -1, score -inf."""
        rows = np.asarray(rows, dtype=np.int64)
        out_rows = np.empty((len(rows), k), dtype=np.int64)
        out_scores = np.empty((len(rows), k), dtype=np.float32)
        for start in range(0, len(rows), BATCH_ROWS):
            block = rows[start : start + BATCH_ROWS]
            scores = self._queries(block) @ self.vectors.T
            out_rows[start : start + len(block)], out_scores[start : start + len(block)] = rank_rows(scores, block, k)
        return out_rows, out_scores

    def search(self, text: str, k: int) -> Neighbours:
        """Free text is one description, not fields: the whole-document embedding model answers."""
        return self.text_model.search(text, k)


# ------------------------------------------------------------------ tuning (offline: validation films only)


def tune_field_weights(
    fields: np.ndarray, field_names: Sequence[str], validation: GroundTruth, genres: np.ndarray,
    information: np.ndarray, depth: int, k: int, grid: Sequence[float] = WEIGHT_GRID, max_rounds: int = MAX_ROUNDS,
) -> tuple[dict[str, float], list[dict]]:
    """Field weights that maximise mean nDCG@k on ``validation`` (and nothing else), by coordinate ascent.

    Start from uniform weights (1 for every field); then, field by field in ``field_names`` order, try every
    ``grid`` value with the others fixed and keep the best (ties: the smaller weight; all-zero weights are
    never tried); repeat rounds until one changes nothing (or ``max_rounds``). Every step either raises the
    score or keeps it and lowers a weight, so it ends, and it is deterministic. Rankings are cleaned and
    scored by ``evaluation.evaluate_rankings`` exactly as the evaluation scores a model's ``similar_batch``.

    Per-field cosines of the validation films against the catalog are computed once
    (fields × queries × films float32: 7 × 254 × 4,802 = 34 MB here), then every setting is a weighted sum.
    Returns the weights (every field, zeros included) and the trace: the start, then one entry per field step
    with the weights after it, its validation nDCG@k, and whether it changed anything.
    """
    from recommender.evaluation import evaluate_rankings

    check_fields(fields, field_names)
    queries = np.asarray(validation.queries, dtype=np.int64)
    cosines = np.empty((len(field_names), len(queries), fields.shape[1]), dtype=np.float32)
    for position in range(len(field_names)):
        vectors = unit_rows(fields[position])
        cosines[position] = vectors[queries] @ vectors.T

    def score(weights: dict[str, float]) -> float:
        combined = np.tensordot(np.array([weights[name] for name in field_names], dtype=np.float32), cosines, axes=1)
        ranked, _ = rank_rows(combined, queries, depth)
        result = evaluate_rankings("embedding_fields", validation, ranked, genres, information, depth, k)
        return float(result.per_query["ndcg@10"].mean())  # evaluation names it @10; it is computed @k

    weights = {name: 1.0 for name in field_names}
    best = score(weights)
    trace = [{"step": 0, "round": 0, "field": None, "weights": dict(weights), "ndcg@10": best, "changed": False}]
    for round_ in range(1, max_rounds + 1):
        changed_in_round = False
        for name in field_names:
            current = weights[name]
            choice, choice_score = current, best
            for value in sorted(grid):
                if value == current:
                    candidate_score = best
                else:
                    trial = {**weights, name: float(value)}
                    if not any(trial.values()):
                        continue
                    candidate_score = score(trial)
                if candidate_score > choice_score or (candidate_score == choice_score and value < choice):
                    choice, choice_score = float(value), candidate_score
            changed = choice != current
            weights[name], best = choice, choice_score
            changed_in_round |= changed
            trace.append({
                "step": len(trace), "round": round_, "field": name, "weights": dict(weights), "ndcg@10": best,
                "changed": changed,
            })
        if not changed_in_round:
            break
    return weights, trace
