"""Train the learned rankers offline: field weights and LambdaRank boosters from MovieLens training users.

Reads data/movies.parquet, data/index/ (the text models) and the MovieLens ratings; writes data/rankers/
(two LightGBM boosters, the co-liked lists, manifest.json). The app only reads those files and refuses
them when they do not match its catalog and index. Deterministic: same inputs → same files.

    python scripts/train_rankers.py          # ~2 minutes on 2 cores

Steps, each printed as it runs:
1. the protocol's user groups and query films (scripts/protocol.py): nothing below reads test users;
2. the embedding's per-field weights, tuned on validation films;
3. co-liked lists (item-kNN CF) from all training users, what the app serves;
4. training queries: the training users' co-likes, graded by rank, are the labels; for the fans ranker
   one fold of users gives the labels while the others give the behaviour features, in turn; validation
   and test films are never queries;
5. two boosters, "parecidas" (content features) and "fans" (content + behaviour), each early-stopped on
   validation films (validation users' labels), the best of a small grid chosen by validation nDCG@10;
6. the files, then the manifest (last: it vouches for the files).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for _name, _value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}.items():
    os.environ.setdefault(_name, _value)

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from queries.catalog import CATALOG_FILE, Catalog, load_catalog  # noqa: E402
from recommender import evaluation as ev  # noqa: E402
from recommender import ranker_artifacts as ra  # noqa: E402
from recommender.base import Recommender  # noqa: E402
from recommender.features import (  # noqa: E402
    CONTENT_FEATURES, FANS_FEATURES, CoLiked, FilmFacts, co_liked_lists, co_liked_prior, monotone_constraints,
)
from recommender.learned import POOL_DEPTH, LearnedRecommender, Signals, query_features  # noqa: E402
from scripts.protocol import Protocol, Setup, prepare  # noqa: E402

SEED = 20240617
CO_LIKED_DEPTH = 100
GRADES = ((5, 3), (10, 2), (20, 1))  # relevant rank ≤ 5 → label 3, ≤ 10 → 2, ≤ 20 → 1, else 0
BASE_PARAMS = {
    "objective": "lambdarank", "metric": "ndcg", "ndcg_eval_at": [10], "lambdarank_truncation_level": 20,
    "learning_rate": 0.05, "feature_fraction": 0.9, "bagging_fraction": 0.8, "bagging_freq": 1,
    "deterministic": True, "force_col_wise": True, "num_threads": 2, "seed": SEED, "verbosity": -1,
}
GRID = (  # chosen on validation films; "monotone": see features.monotone_constraints
    {"num_leaves": 15, "min_data_in_leaf": 50, "learning_rate": 0.05, "monotone": False},
    {"num_leaves": 7, "min_data_in_leaf": 100, "learning_rate": 0.02, "monotone": True},
    {"num_leaves": 31, "min_data_in_leaf": 100, "learning_rate": 0.02, "monotone": True},
)
FANS_PRIOR_WEIGHT = 1.0  # the fans booster starts from item-kNN's order (features.co_liked_prior)
MAX_ROUNDS = 600
EARLY_STOPPING = 50


def graded(relevant: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """LambdaRank labels for a query's candidates: its most co-liked films get the highest grades."""
    rank_of = {int(row): rank for rank, row in enumerate(relevant.tolist(), start=1)}
    labels = np.zeros(len(candidates), dtype=np.int32)
    for position, row in enumerate(candidates.tolist()):
        rank = rank_of.get(int(row))
        if rank is not None:
            labels[position] = next(grade for limit, grade in GRADES if rank <= limit) if rank <= GRADES[-1][0] else 0
    return labels


def co_liked_for(ratings, n_items: int) -> CoLiked:
    """CF lists from who *rated* what (implicit feedback: the variant validation preferred for item-kNN)."""
    users = int(ratings["user"].nunique())
    return co_liked_lists(ev.like_matrix(ratings, n_items, threshold=0.0), ev.item_counts(ratings, n_items), users, CO_LIKED_DEPTH)


def ranking_data(truth: ev.GroundTruth, signals: Signals, names: tuple[str, ...], desc: str):
    """(features, labels, group sizes, candidates per query) for every query of ``truth``."""
    blocks, labels, groups, pools = [], [], [], []
    for position, query in enumerate(tqdm(truth.queries.tolist(), desc=desc, unit="film", leave=False)):
        candidates, features = query_features(query, signals, names)
        blocks.append(features)
        labels.append(graded(truth.relevant[position], candidates))
        groups.append(len(candidates))
        pools.append(candidates)
    return np.vstack(blocks), np.concatenate(labels), np.array(groups), pools


def recall_of_pool(truth: ev.GroundTruth, pools: list[np.ndarray]) -> float:
    """Share of the relevant films that are in the candidate pool: the ceiling of any re-ranker."""
    found = sum(len(np.intersect1d(relevant, pool)) for relevant, pool in zip(truth.relevant, pools))
    return found / max(sum(len(relevant) for relevant in truth.relevant), 1)


def lightgbm_params(setting: dict, feature_names: tuple[str, ...]) -> dict:
    params = {**BASE_PARAMS, **{key: value for key, value in setting.items() if key != "monotone"}}
    if setting.get("monotone"):
        params["monotone_constraints"] = monotone_constraints(feature_names)
    return params


def fit(name: str, train, valid, feature_names: tuple[str, ...], prior_weight: float):
    """The grid's boosters, early-stopped on validation; returns every setting's booster and score."""
    import lightgbm

    def init(features: np.ndarray) -> np.ndarray | None:
        return prior_weight * co_liked_prior(features, feature_names) if prior_weight else None

    trials = []
    for setting in GRID:
        params = lightgbm_params(setting, feature_names)
        train_set = lightgbm.Dataset(train[0], train[1], group=train[2], feature_name=list(feature_names),
                                     init_score=init(train[0]), free_raw_data=False)
        valid_set = lightgbm.Dataset(valid[0], valid[1], group=valid[2], reference=train_set,
                                     init_score=init(valid[0]), free_raw_data=False)
        booster = lightgbm.train(
            params, train_set, num_boost_round=MAX_ROUNDS, valid_sets=[valid_set], valid_names=["validation"],
            callbacks=[lightgbm.early_stopping(EARLY_STOPPING, verbose=False)],
        )
        trials.append({"setting": setting, "rounds": booster.best_iteration,
                       "validation_pool_ndcg@10": round(float(booster.best_score["validation"]["ndcg@10"]), 4),
                       "booster": booster})
        print(f"  {name} {setting}: {booster.best_iteration} rounds, pool nDCG@10 {trials[-1]['validation_pool_ndcg@10']:.4f}")
    return trials


def protocol_ndcg(recommender: Recommender, truth: ev.GroundTruth, facts_genres: np.ndarray, information: np.ndarray,
                  depth: int) -> float:
    """The evaluation's own nDCG@10 on validation films (relevant films outside the pool count as misses)."""
    ranked = ev.rank_with(recommender, truth.queries, depth)
    return round(float(ev.evaluate_rankings(recommender.name, truth, ranked, facts_genres, information, depth).per_query["ndcg@10"].mean()), 4)


def embedding_with_tuned_fields(catalog: Catalog, base: dict[str, Recommender], setup: Setup, protocol: Protocol,
                                genres: np.ndarray, information: np.ndarray) -> tuple[Recommender, dict, list]:
    """The per-field embedding with weights tuned on validation films (``recommender.field_embedding``)."""
    from recommender.artifacts import load_field_vectors
    from recommender.field_embedding import FieldEmbeddingRecommender, tune_field_weights

    fields, names = load_field_vectors(catalog)
    weights, trace = tune_field_weights(fields, names, setup.validation, genres, information, protocol.depth, protocol.k)
    return FieldEmbeddingRecommender(fields, names, weights, base["embedding"]), weights, trace


def train(catalog: Catalog, protocol: Protocol, out_dir: Path) -> dict:
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        seconds[step] = round(time.perf_counter() - clock, 1)
        clock = time.perf_counter()

    from recommender.artifacts import load_recommenders

    base = dict(load_recommenders(catalog))
    n_items = len(catalog)
    setup = prepare(catalog, protocol)
    genres, _ = ev.genre_matrix(catalog.movies["genres"])
    information = ev.self_information(ev.item_counts(setup.train, n_items), int(setup.train["user"].nunique()))
    print(f"1. protocol: {setup.train['user'].nunique()} training users, {len(setup.validation)} validation films, "
          f"{len(setup.test)} test films (not read here)")
    lap("protocol")

    embedding, weights, trace = embedding_with_tuned_fields(catalog, base, setup, protocol, genres, information)
    text_models = {"seed_tfidf": base["seed_tfidf"], "tfidf": base["tfidf"], "embedding": embedding}
    print(f"2. embedding field weights (validation): {weights}")
    lap("field weights")

    served_co_liked = co_liked_for(setup.train, n_items)
    print(f"3. co-liked lists from {served_co_liked.users} training users: "
          f"{int((served_co_liked.rows[:, 0] >= 0).sum()):,} films have some")
    lap("co-liked lists")

    facts = FilmFacts.from_catalog(catalog)
    excluded = setup.evaluation_films

    def labels_from(ratings) -> ev.GroundTruth:
        truth = ev.co_liked(
            ev.like_matrix(ratings, n_items, protocol.like_threshold), protocol.train_min_fans,
            protocol.train_min_support, protocol.relevant_per_query, protocol.train_min_relevant,
        )
        return truth.subset(np.flatnonzero(~np.isin(truth.queries, excluded)))

    # Parecidas reads no behaviour, so all training users label it at once; the fans ranker's labels come
    # from one fold of users at a time, its behaviour features from the other folds.
    content_truth = labels_from(setup.train)
    training = {"parecidas": [ranking_data(content_truth, Signals(text_models, facts), CONTENT_FEATURES, "parecidas")],
                "fans": []}
    fold_queries = []
    for fold, (feature_users, label_users) in enumerate(setup.folds):
        truth = labels_from(label_users)
        fold_queries.append(truth.queries)
        signals = Signals(text_models, facts, co_liked_for(feature_users, n_items))
        training["fans"].append(ranking_data(truth, signals, FANS_FEATURES, f"fans, fold {fold + 1}/{len(setup.folds)}"))
    training_films = np.union1d(content_truth.queries, np.concatenate(fold_queries))
    print(f"4. training queries: {len(content_truth)} films for parecidas; {sum(len(q) for q in fold_queries)} "
          f"over {len(setup.folds)} folds for fans; {len(training_films)} distinct films, none a validation or test film")
    lap("training features")

    results: dict[str, dict] = {}
    boosters = {}
    validation_signals = {"parecidas": Signals(text_models, facts), "fans": Signals(text_models, facts, served_co_liked)}
    for name, names in (("parecidas", CONTENT_FEATURES), ("fans", FANS_FEATURES)):
        parts = training[name]
        train_data = (np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]))
        valid_data = ranking_data(setup.validation, validation_signals[name], names, f"validation {name}")
        prior_weight = FANS_PRIOR_WEIGHT if name == "fans" else 0.0
        trials = fit(name, train_data, valid_data, names, prior_weight)
        for trial in trials:
            candidate = LearnedRecommender(name, ra.RANKER_LABELS[name], _trimmed(trial["booster"]), names,
                                           validation_signals[name], base["embedding"], prior_weight=prior_weight)
            trial["validation_ndcg@10"] = protocol_ndcg(candidate, setup.validation, genres, information, protocol.depth)
        best = max(trials, key=lambda trial: (trial["validation_ndcg@10"], -GRID.index(trial["setting"])))
        boosters[name] = _trimmed(best["booster"])
        results[name] = {
            "features": list(names), "params": lightgbm_params(best["setting"], names), "rounds": best["rounds"],
            "prior_weight": prior_weight,
            "validation_ndcg@10": best["validation_ndcg@10"],
            "grid": [{key: value for key, value in trial.items() if key != "booster"} for trial in trials],
            "training_rows": int(len(train_data[1])), "training_relevant_rows": int((train_data[1] > 0).sum()),
            "validation_pool_recall": round(recall_of_pool(setup.validation, valid_data[3]), 4),
        }
        print(f"5. {name}: validation nDCG@10 {best['validation_ndcg@10']:.4f} with {best['setting']}, "
              f"{best['rounds']} rounds; pool holds {results[name]['validation_pool_recall']:.0%} of the relevant films")
    lap("boosters")

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / ra.MANIFEST_FILE).unlink(missing_ok=True)
    for name, booster in boosters.items():
        booster.save_model(str(out_dir / ra.RANKER_FILES[name]))
    ra.save_co_liked(served_co_liked, out_dir / ra.CO_LIKED_FILE)
    lap("write")
    manifest = {
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "catalog": {"file": CATALOG_FILE, "sha256": catalog.checksum, "rows": n_items},
        "index": {"files": ra.index_fingerprint()},
        "protocol": protocol.as_dict(),
        "seed": SEED,
        "features": {name: result["features"] for name, result in results.items()},
        "rankers": results,
        "field_weights": weights,
        "field_weights_trace": trace,
        "co_liked": {"users": served_co_liked.users, "depth": CO_LIKED_DEPTH, "matrix": "rated (any rating)",
                     "films_with_neighbours": int((served_co_liked.rows[:, 0] >= 0).sum())},
        "training": {
            "users": int(setup.train["user"].nunique()),
            "fold_label_users": [int(labels["user"].nunique()) for _, labels in setup.folds],
            "parecidas_queries": int(len(content_truth)), "fans_queries": int(sum(len(q) for q in fold_queries)),
            "films": int(len(training_films)),
            "films_tmdb_ids": [int(catalog.column("id")[row]) for row in training_films.tolist()],
            "excluded_validation_and_test_films": int(len(excluded)),
            "validation_films": int(len(setup.validation)),
        },
        "pool_depth": POOL_DEPTH,
        "seconds": {**seconds, "total": round(time.perf_counter() - started, 1)},
        "versions": ra.library_versions(),
    }
    ra.write_manifest(out_dir, manifest)
    return manifest


def _trimmed(booster):
    """The booster cut at its early-stopping round (what is saved and served)."""
    import lightgbm

    return lightgbm.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: data/rankers)")
    args = parser.parse_args(argv)
    catalog = load_catalog()
    manifest = train(catalog, Protocol(), args.out or ra.rankers_dir())
    print(f"\nWrote {args.out or ra.rankers_dir()} in {manifest['seconds']['total']:.0f} s: "
          + ", ".join(f"{name} validation nDCG@10 {r['validation_ndcg@10']:.4f}" for name, r in manifest["rankers"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
