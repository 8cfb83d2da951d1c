"""Areas for the overlap engine: the tree of area codes (``AreaTree``, built by
``initiatives.overlap`` from geo.areas) and integer ids with each area's level and
district (``AreaCodes``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain

import numpy as np


@dataclass(frozen=True)
class AreaTree:
    """Area code -> parent code (None for the country), from geo.areas."""

    parents: Mapping[str, str | None]
    country: str  # the country's code (geo.areas.country_code(); the engine reads no settings)
    names: Mapping[str, str] = field(default_factory=dict)

    def level(self, code: str) -> str:
        if code == self.country or (code in self.parents and self.parents[code] is None):
            return "country"
        parent = self.parents.get(code)
        if parent is not None and self.parents.get(parent, "") is None:
            return "district"
        return "municipality"

    def districts(self) -> list[str]:
        return sorted(c for c, parent in self.parents.items() if parent == self.country)

    def district_of(self, code: str) -> str | None:
        parent = self.parents.get(code)
        return parent if parent is not None and self.level(parent) == "district" else None


# --- areas as integer ids -------------------------------------------------------------------

COUNTRY, DISTRICT, MUNICIPALITY = 0, 1, 2


class AreaCodes:
    """Area code -> integer id, with each id's level and district (-1: none).

    The tree's areas get ids in code order, so a row's districts sorted by id are sorted
    by code. A code outside the tree is a municipality of no known district (what
    ``AreaTree.level`` says of it)."""

    def __init__(self, tree: AreaTree) -> None:
        self.tree = tree
        self.ids: dict[str, int] = {}
        self.level = np.zeros(0, dtype=np.int8)
        self.district = np.zeros(0, dtype=np.int64)
        self.add(sorted({*tree.parents, tree.country}))
        self.all_districts = np.array([self.ids[d] for d in tree.districts()], dtype=np.int64)

    def add(self, codes: Iterable[str]) -> None:
        new = [c for c in dict.fromkeys(codes) if c not in self.ids]
        if not new:
            return
        first = len(self.ids)
        self.ids.update((code, first + n) for n, code in enumerate(new))
        levels = {"country": COUNTRY, "district": DISTRICT, "municipality": MUNICIPALITY}
        level = np.array([levels[self.tree.level(c)] for c in new], dtype=np.int8)
        district = np.full(len(new), -1, dtype=np.int64)
        for n, code in enumerate(new):
            if level[n] == DISTRICT:
                district[n] = self.ids[code]
            elif level[n] == MUNICIPALITY:
                parent = self.tree.district_of(code)  # a tree area, so it has an id
                district[n] = -1 if parent is None else self.ids[parent]
        self.level = np.concatenate([self.level, level])
        self.district = np.concatenate([self.district, district])

    def entries(self, area_sets: Sequence[frozenset[str]]) -> tuple[np.ndarray, np.ndarray]:
        """(row, area id) for every area of every record."""
        flat = list(chain.from_iterable(area_sets))
        self.add(flat)
        lengths = np.fromiter(map(len, area_sets), dtype=np.int64, count=len(area_sets))
        ids = np.fromiter(map(self.ids.__getitem__, flat), dtype=np.int64, count=len(flat))
        return np.repeat(np.arange(len(area_sets)), lengths), ids
