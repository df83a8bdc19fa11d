"""Item-to-item by lookup (issue 14 §2): the precomputed arrays answer exactly what the live models answer,
say the same why, and are refused when they do not match the catalog, the index or the rankers."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from queries.errors import ArtifactError
from recommender import lookup


@pytest.fixture(scope="module")
def served(catalog):
    from recommender.models import load_models

    loaded = load_models(catalog)
    assert "lookups" not in loaded.problems, loaded.problems
    return loaded.models


@pytest.fixture(scope="module")
def live(catalog):
    from recommender.models import load_models

    return load_models(catalog, lookups=False).models


ROWS = np.random.default_rng(11).integers(0, 4802, 40)


@pytest.mark.parametrize("name", lookup.MODELS)
def test_a_lookup_answers_what_the_live_model_answers(served, live, name):
    model = served[name]
    assert isinstance(model, lookup.LookupRecommender) and model.label == live[name].label
    for row in ROWS.tolist():
        stored, computed = model.similar(row, 10), live[name].similar(row, 10)
        assert stored.rows.tolist() == computed.rows.tolist(), (name, row)
        assert np.allclose(stored.scores, computed.scores, atol=1e-5)
    rows, _ = model.similar_batch(ROWS, 20)
    assert rows.tolist() == live[name].similar_batch(ROWS, 20)[0].tolist()
    deep = model.similar(int(ROWS[0]), 60)  # deeper than the lookup: the live model answers
    assert len(deep) == 60


@pytest.mark.parametrize("name", ["parecidas", "fans"])
def test_the_stored_why_is_the_rankers_own(served, live, name):
    row = int(ROWS[1])
    shown = served[name].similar(row, 5).rows
    assert served[name].contributions(row, shown) == live[name].contributions(row, shown)
    assert not hasattr(served["tfidf"], "contributions")  # only the rankers say why


def test_the_service_serves_lookups_and_keeps_the_fallback_note(served, catalog):
    from recommender import service

    comparison = service.compare("Toy Story", 5)
    assert all(model.latency_ms < 5 for model in comparison.models)  # a lookup is an array read, whatever the model
    fans = served["fans"]
    unrated = int(np.flatnonzero(fans.signals.co_liked.rows[:, 0] < 0)[0])
    assert fans.uses_fallback(unrated)
    assert fans.similar(unrated, 5).rows.tolist() == served["parecidas"].similar(unrated, 5).rows.tolist()


@pytest.mark.parametrize("damage", ["edited_array", "other_index", "missing_file", "no_manifest"])
def test_mismatched_lookups_are_refused(catalog, live, tmp_path, damage):
    directory = tmp_path / "lookups"
    shutil.copytree(lookup.lookups_dir(), directory)
    manifest_path = directory / lookup.MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if damage == "edited_array":
        path = directory / "tfidf.rows.npy"
        data = bytearray(path.read_bytes())
        data[-1] ^= 1
        path.write_bytes(bytes(data))
    elif damage == "other_index":
        manifest["index"]["tfidf.matrix.npz"] = "0" * 64
        manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    elif damage == "missing_file":
        (directory / "fans.scores.npy").unlink()
    else:
        manifest_path.unlink()
    with pytest.raises(ArtifactError, match="precompute_neighbours.py"):
        lookup.wrap_with_lookups(catalog, dict(live), directory)


@pytest.mark.parametrize("name", ["parecidas", "fans"])
def test_the_one_pass_precompute_equals_similar_then_contributions(live, name):
    """scripts/precompute_neighbours.py scores each block's pools once (``similar_batch_explained``); it must
    give what the app's live path gives film by film, the fans ranker's content fallback included."""
    model = live[name]
    unrated = np.flatnonzero(live["fans"].signals.co_liked.rows[:, 0] < 0)[:3]
    rows = np.concatenate([ROWS[:8], unrated])
    found, scores, explained = model.similar_batch_explained(rows, 12, lookup.TOP_DRIVERS)
    for position, row in enumerate(rows.tolist()):
        expected = model.similar(row, 12)
        assert found[position][found[position] >= 0].tolist() == expected.rows.tolist(), (name, row)
        assert np.allclose(scores[position][: len(expected)], expected.scores)
        assert explained[position] == model.contributions(row, expected.rows, lookup.TOP_DRIVERS), (name, row)
    assert model.uses_fallback(int(unrated[0])) == (name == "fans")


def test_the_fans_ranker_reuses_the_content_rankers_answers_for_its_fallback_films(live):
    """The precompute ranks with Parecidas first, then hands its answers to the fans ranker for the films nobody
    rated (``fallback_answers``): the same arrays as the fans ranker asking Parecidas again."""
    fans, parecidas = live["fans"], live["parecidas"]
    unrated = np.flatnonzero(~fans.rated)[:4]
    rows = np.concatenate([ROWS[:6], unrated])
    content = parecidas.similar_batch_explained(rows, 12, lookup.TOP_DRIVERS)
    reused = fans.similar_batch_explained(rows, 12, lookup.TOP_DRIVERS, fallback_answers=content)
    again = fans.similar_batch_explained(rows, 12, lookup.TOP_DRIVERS)
    assert np.array_equal(reused[0], again[0]) and np.array_equal(reused[1], again[1]) and reused[2] == again[2]
    fallback = np.isin(rows, unrated)
    assert np.array_equal(reused[0][fallback], content[0][fallback]) and not np.array_equal(reused[0], content[0])
