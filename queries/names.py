"""Name -> films lookups (actors, directors) stored as Arrow and NumPy arrays, not Python dicts.

A dict of normalised name -> tuple of rows costs ~300 bytes per person in Python objects; at the full
Kaggle catalog's scale (hundreds of thousands of people) that alone is about 100 MB. Here a person is a
position in a few arrays (~60 bytes): the names as Arrow strings, their films as one CSR row list,
and a sorted array of the names' hashes for O(log n) exact lookups.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


NORMALIZE_BATCH = 20_000  # names turned into Python strings at a time while indexing


def list_array(column: pd.Series | pa.Array | pa.ChunkedArray) -> pa.ListArray:
    """A list column (pandas ArrowDtype, object lists, or Arrow) as one Arrow ListArray; null lists stay null."""
    array = column if isinstance(column, (pa.Array, pa.ChunkedArray)) else pa.array(column, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not pa.types.is_list(array.type):
        array = array.cast(pa.list_(pa.string()))
    return array


def _python_batches(array: pa.Array) -> Iterator[list]:
    """The array's values as Python objects, NORMALIZE_BATCH at a time (bounded transient Python objects)."""
    for start in range(0, len(array), NORMALIZE_BATCH):
        yield array.slice(start, NORMALIZE_BATCH).to_pylist()


class StringPositions(Mapping[str, int]):
    """Each string of an Arrow string array -> its position (the first, if repeated), without a Python dict.

    A dict of Python strings costs ~100 bytes per entry; this keeps the strings in their Arrow buffer and a
    sorted array of their hashes (12 bytes each): O(log n) lookups, each hit confirmed against the string.
    It is a read-only ``Mapping``, so it can stand where a ``str -> int`` dict is read (a TF-IDF vocabulary).
    Hashes are Python's own, computed in this process (string hashing is salted per process)."""

    def __init__(self, strings: pa.Array) -> None:
        self.strings = strings
        hashes = np.concatenate([np.fromiter(map(hash, batch), dtype=np.int64, count=len(batch))
                                 for batch in _python_batches(strings)] or [np.empty(0, dtype=np.int64)])
        self._by_hash = np.argsort(hashes, kind="stable").astype(np.int32)
        self._hashes = hashes[self._by_hash]

    def find(self, key: object) -> int | None:
        """Position of the exact string ``key``, or None (also for anything that is not a string)."""
        if not isinstance(key, str):
            return None
        target = hash(key)
        at = int(np.searchsorted(self._hashes, target))
        while at < len(self._hashes) and self._hashes[at] == target:
            position = int(self._by_hash[at])
            if self.strings[position].as_py() == key:
                return position
            at += 1
        return None

    def __getitem__(self, key: str) -> int:
        position = self.find(key)
        if position is None:
            raise KeyError(key)
        return position

    def __contains__(self, key: object) -> bool:
        return self.find(key) is not None

    def __len__(self) -> int:
        return len(self.strings)

    def __iter__(self) -> Iterator[str]:
        for batch in _python_batches(self.strings):
            yield from batch

    def __reduce__(self):  # another process salts string hashes differently: it rehashes
        return StringPositions, (self.strings,)

    def hash_nbytes(self) -> int:
        return self._hashes.nbytes + self._by_hash.nbytes


@dataclass(frozen=True)
class CodedLists:
    """A list column as integer codes per film (CSR) plus each distinct item once: 4 bytes per item instead of
    a Python list per film. Film i's items are ``values[codes[offsets[i]:offsets[i + 1]]]``; codes number the
    distinct items in order of first appearance, so code order is catalog order."""

    offsets: np.ndarray
    codes: np.ndarray
    values: pa.Array  # distinct items; code -> item

    @classmethod
    def from_column(cls, column: pd.Series | pa.Array) -> CodedLists:
        lists = list_array(column)
        offsets = lists.offsets.to_numpy().astype(np.int64)
        offsets -= offsets[0]  # a sliced array's offsets need not start at 0
        encoded = pc.list_flatten(lists).cast(pa.string()).dictionary_encode()
        return cls(offsets, encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32), encoded.dictionary)

    def codes_of(self, row: int) -> np.ndarray:
        return self.codes[self.offsets[row] : self.offsets[row + 1]]

    def shared(self, row: int, other: int) -> list[str]:
        """Items of film ``row`` also in film ``other``, in ``row``'s order, each once."""
        theirs = set(self.codes_of(other).tolist())
        common = [code for code in dict.fromkeys(self.codes_of(row).tolist()) if code in theirs]
        return self.values.take(pa.array(common, type=pa.int32())).to_pylist() if common else []

    def nbytes(self) -> int:
        return self.offsets.nbytes + self.codes.nbytes + self.values.nbytes


class NameIndex:
    """Normalised name -> the films that credit it, in ``order`` (release order), most-credited names first."""

    def __init__(self, column: pd.Series | pa.Array, order: np.ndarray, normalize: Callable[[str], str]) -> None:
        self.lists = CodedLists.from_column(column)  # also the Explainer's facet for this column
        films = len(self.lists.offsets) - 1
        parents = np.repeat(np.arange(films, dtype=np.int64), np.diff(self.lists.offsets))
        # Normalise each distinct credited name once, a slice at a time, then dedupe the keys in Arrow:
        # several spellings ("José", "Jose") may share a key.
        normalised = pa.chunked_array(
            [pa.array([normalize(name) for name in names], pa.string()) for names in _python_batches(self.lists.values)]
            or [pa.array([], pa.string())],
        ).combine_chunks().dictionary_encode()
        keys, key_ids = normalised.dictionary, normalised.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        _, first_spelling = np.unique(key_ids, return_index=True)  # the first credited spelling names the key
        credit_keys = key_ids[self.lists.codes]
        rank = np.empty(films, dtype=np.int64)
        rank[np.asarray(order, dtype=np.int64)] = np.arange(films)
        # Credits in release order (then billing order); a name twice in one film counts once.
        by_release = np.lexsort((np.arange(len(credit_keys)), rank[parents]))
        pairs = np.stack([credit_keys[by_release], parents[by_release]], axis=1)
        _, first_credit = np.unique(pairs, axis=0, return_index=True)
        pairs = pairs[np.sort(first_credit)]  # unique (key, film) pairs, still in release order
        counts = np.bincount(pairs[:, 0], minlength=len(keys))
        _, first_seen = np.unique(pairs[:, 0], return_index=True)
        # Most-credited first (fuzzy ties then favour well-known people), then first seen in release order.
        ranking = np.lexsort((first_seen, -counts)) if len(keys) else np.empty(0, dtype=np.int64)
        new_id = np.empty(len(keys), dtype=np.int64)
        new_id[ranking] = np.arange(len(keys))
        grouped = np.argsort(new_id[pairs[:, 0]], kind="stable")
        self.rows = pairs[grouped, 1].astype(np.int32)
        self.indptr = np.concatenate([[0], np.cumsum(counts[ranking])]).astype(np.int64)
        self.keys = keys.take(pa.array(ranking))
        self.credited = self.lists.values.take(pa.array(first_spelling[ranking]))
        self._positions = StringPositions(self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    def find(self, key: str) -> int | None:
        """Position of the exact normalised ``key``, or None."""
        return self._positions.find(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.find(key) is not None

    def films(self, position: int) -> tuple[int, ...]:
        """The rows crediting the name at ``position``, in release order."""
        return tuple(self.rows[self.indptr[position] : self.indptr[position + 1]].tolist())

    def credited_name(self, position: int) -> str:
        return self.credited[position].as_py()

    def __getitem__(self, key: str) -> tuple[int, ...]:
        position = self.find(key)
        if position is None:
            raise KeyError(key)
        return self.films(position)

    def names(self) -> list[str]:
        """Every normalised name, most-credited first (for fuzzy matching; built per call, not kept)."""
        return self.keys.to_pylist()

    def nbytes(self) -> int:
        arrays: Iterable[np.ndarray] = (self.rows, self.indptr)
        return (self.keys.nbytes + self.credited.nbytes + self.lists.nbytes() + self._positions.hash_nbytes()
                + sum(array.nbytes for array in arrays))
