"""TF-IDF recommenders over a sparse term matrix, scored through an inverted index.

Rows of ``matrix`` are L2-normalised, so a dot product is the cosine similarity. ``postings`` is
``matrix.T`` in CSR form: term -> the films that use it. A query's scores are ``query @ postings``,
which only touches the postings of the query's own terms, so one answer costs about the number of
films sharing a term with the query, never a dense N×N matrix or even a dense row of N scores.

The fitted vocabulary and idf are stored as JSON (no pickle: loading an artifact never runs code,
and a scikit-learn upgrade cannot make it unreadable); the app rebuilds the vectorizer from them
and never fits.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from queries.names import StringPositions
from recommender.base import Neighbours, OnFirstUse
from recommender.ranking import pad, top_k

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer  # imported when fitting or on first search

# The original project's recipe, exactly: scikit-learn defaults plus these two settings.
SEED_PARAMS: dict[str, Any] = {"stop_words": "english", "ngram_range": (1, 2)}
# The richer document: min_df=2 drops one-off terms (typos, unique names) that cannot link two films;
# max_df=0.5 drops terms in half the catalog; sublinear_tf stops a word repeated in a long overview
# from dominating; float32 halves the matrix at no ranking cost.
TFIDF_PARAMS: dict[str, Any] = {
    "stop_words": "english", "ngram_range": (1, 2), "min_df": 2, "max_df": 0.5, "sublinear_tf": True,
    "dtype": np.float32,
}
BATCH_ROWS = 256  # rows scored per sparse product in similar_batch: bounds memory at 45k films


class TfidfRecommender:
    """Cosine similarity over TF-IDF vectors; used for both "seed_tfidf" and "tfidf"."""

    def __init__(self, name: str, label: str, matrix: sp.csr_matrix,
                 vectorizer: TfidfVectorizer | OnFirstUse[TfidfVectorizer] | None = None) -> None:
        self.name = name
        self.label = label
        self.postings = sp.csr_matrix(matrix).T.tocsr()  # the inverted index: term -> films (free text needs only it)
        # films × terms, rebuilt from the postings on first use: item-to-item is served from the precomputed
        # lookups, so a serving app asked only for free text never holds both (~50 MB at 45k films).
        self._matrix = OnFirstUse(lambda: self.postings.T.tocsr())
        self._vectorizer = vectorizer  # None for synthetic matrices: item-to-item only

    @property
    def matrix(self) -> sp.csr_matrix:
        return self._matrix.get()

    @property
    def matrix_built(self) -> bool:
        return self._matrix.built

    @property
    def vectorizer(self) -> TfidfVectorizer | None:
        return OnFirstUse.value(self._vectorizer)

    def __len__(self) -> int:
        return self.postings.shape[1]

    def _ranked(self, scores: sp.csr_matrix, k: int, exclude: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top k of a 1×N sparse score row; films sharing no term with the query (score 0) never rank."""
        candidates, values = scores.indices, scores.data
        keep = values > 0
        if exclude is not None:
            keep &= candidates != exclude
        return top_k(candidates[keep], values[keep], k)

    def similar(self, row: int, k: int) -> Neighbours:
        """Films sharing the most weighted terms with ``row``; fewer than k if fewer share any term."""
        row = int(row)
        scores = self.matrix[row] @ self.postings
        return Neighbours(*self._ranked(scores, k, exclude=row))

    def pair_scores(self, row: int, candidates: np.ndarray) -> np.ndarray:
        """The cosine of ``row`` with each candidate row (0 when they share no term): a ranker feature."""
        return np.asarray((self.matrix[np.asarray(candidates, dtype=np.int64)] @ self.matrix[int(row)].T).todense()).ravel()

    def similar_batch(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``similar`` for many rows, one sparse product per block; short lists padded with row -1, score -inf."""
        rows = np.asarray(rows, dtype=np.int64)
        out_rows = np.empty((len(rows), k), dtype=np.int64)
        out_scores = np.empty((len(rows), k), dtype=np.float32)
        for start in range(0, len(rows), BATCH_ROWS):
            block = rows[start : start + BATCH_ROWS]
            scores = (self.matrix[block] @ self.postings).tocsr()
            for offset, row in enumerate(block.tolist()):
                out_rows[start + offset], out_scores[start + offset] = pad(*self._ranked(scores[offset], k, row), k)
        return out_rows, out_scores

    def search(self, text: str, k: int) -> Neighbours:
        """Films whose documents share the text's (non-stop-word) terms; empty if it shares none."""
        if self._vectorizer is None:
            raise RuntimeError(f"{self.name} has no vectorizer: it can only answer item-to-item.")
        query = self.vectorizer.transform([text])
        return Neighbours(*self._ranked(query @ self.postings, k))


def fit_tfidf(name: str, label: str, documents: list[str], params: dict[str, Any]) -> TfidfRecommender:
    """Fit a vectorizer on the documents (offline, in scripts/build_index.py only)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(**params)
    matrix = vectorizer.fit_transform(documents)
    return TfidfRecommender(name, label, matrix.tocsr(), vectorizer)


# ------------------------------------------------------------------ artifacts (no pickle)


def vectorizer_to_json(vectorizer: TfidfVectorizer) -> str:
    """Parameters, terms in column order and idf: everything ``transform`` needs, as plain JSON."""
    params = vectorizer.get_params()
    for callable_param in ("tokenizer", "preprocessor"):
        if params.get(callable_param) is not None:
            raise ValueError(f"Cannot store a vectorizer with a custom {callable_param} as JSON.")
    params["dtype"] = np.dtype(params["dtype"]).name
    params["ngram_range"] = list(params["ngram_range"])
    params["vocabulary"] = None
    terms = [term for term, _ in sorted(vectorizer.vocabulary_.items(), key=lambda item: item[1])]
    payload = {"params": params, "terms": terms, "idf": [float(value) for value in vectorizer.idf_]}
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def vectorizer_from_json(text: str) -> tuple[OnFirstUse[TfidfVectorizer], int]:
    """The fitted vectorizer back, without fitting (fixed vocabulary plus the stored idf), built on the first
    free-text search (scikit-learn is then imported), and its number of terms, known now for the load's checks."""
    payload = json.loads(text)
    params = dict(payload["params"])
    params["dtype"] = np.dtype(params["dtype"]).type
    params["ngram_range"] = tuple(params["ngram_range"])
    params["vocabulary"] = None
    # ``transform`` only reads ``vocabulary_[term]`` (KeyError: not a term) and its length, so the terms stay in
    # one Arrow buffer (StringPositions) instead of a dict of ~100 bytes per term (~35 MB at 45k films).
    vocabulary = StringPositions(pa.array(payload.pop("terms"), pa.string()))
    idf = np.asarray(payload["idf"], dtype=np.float64)

    def build() -> TfidfVectorizer:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(**params)
        # Set the fitted state directly: passing vocabulary= would make sklearn copy it into a dict.
        vectorizer.vocabulary_ = vocabulary
        vectorizer.fixed_vocabulary_ = True
        vectorizer.idf_ = idf
        return vectorizer

    return OnFirstUse(build), len(vocabulary)


def matrix_to_npz(matrix: sp.csr_matrix, path: Path) -> None:
    """scipy's npz layout, but with fixed zip timestamps: same matrix -> byte-identical file."""
    matrix = sp.csr_matrix(matrix)
    matrix.sort_indices()
    arrays = {
        "indices": matrix.indices, "indptr": matrix.indptr, "format": np.array("csr"),
        "shape": np.array(matrix.shape), "data": matrix.data,
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


def matrix_from_npz(path: Path) -> sp.csr_matrix:
    return sp.load_npz(path).tocsr()
