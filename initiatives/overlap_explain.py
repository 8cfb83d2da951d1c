"""Explanations of overlap scores (plain-language sentences built from the same levels
and weights as the score) and clusters of linked records."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from hub.i18n import _
from initiatives.overlap_arrays import dots_if_any, row_dots, row_lengths
from initiatives.overlap_scoring import FIELDS, IDENTIFIER_KINDS, LEVELS, Features


@dataclass(frozen=True)
class PairScore:
    key_a: str
    key_b: str
    score: float
    parts: tuple[tuple[str, str, float, str], ...]  # field, level, weight, sentence

    @property
    def explanation(self) -> str:
        return "; ".join(sentence for _f, _l, _w, sentence in self.parts if sentence)

    @property
    def pair(self) -> tuple[str, str]:
        return (self.key_a, self.key_b)


def pair_details(f: Features, g: Features, i: np.ndarray, j: np.ndarray) -> list[dict[str, float]]:
    """The numbers the sentences quote, for pairs that are shown (few)."""
    i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    if len(i) == 0:
        return []
    title = row_dots(f.title, g.title, i, j)
    description = row_dots(f.description, g.description, i, j)
    text = dots_if_any(f.characters, g.characters, i, j)
    identifiers = np.zeros(len(i), dtype=np.float32)
    for name, _cap, _conflict in IDENTIFIER_KINDS:
        identifiers += dots_if_any(getattr(f, name), getattr(g, name), i, j)
    mun = row_dots(f.municipalities, g.municipalities, i, j)
    mun_i, mun_j = row_lengths(f.municipalities, i), row_lengths(g.municipalities, j)
    dist = row_dots(f.districts_all, g.districts_all, i, j)
    dist_i, dist_j = row_lengths(f.districts_all, i), row_lengths(g.districts_all, j)
    out = []
    for m in range(len(i)):
        a, b = int(i[m]), int(j[m])
        si, ei, sj, ej = f.start[a], f.end[a], g.start[b], g.end[b]
        share = math.nan
        if not (math.isnan(si) or math.isnan(sj)):
            ei = 1e9 if math.isnan(ei) else ei
            ej = 1e9 if math.isnan(ej) else ej
            shorter = min(ei - si + 1, ej - sj + 1)
            share = max(0.0, min(ei, ej) - max(si, sj) + 1) / shorter if shorter > 0 else 0.0
        gi, gj = int(f.groups[a]), int(g.groups[b])
        out.append(
            {
                "title": float(title[m]),
                "description": float(description[m]),
                "text": float(text[m]),
                "identifiers": float(identifiers[m]),
                "mun_shared": float(mun[m]),
                "mun_union": float(mun_i[m] + mun_j[m] - mun[m]),
                "dist_shared": float(dist[m]),
                "dist_union": float(dist_i[m] + dist_j[m] - dist[m]),
                "when": share,
                "groups_shared": float(bin(gi & gj).count("1")),
                "groups_union": float(bin(gi | gj).count("1")),
                "national_a": float(f.national[a]),
                "national_b": float(g.national[b]),
            }
        )
    return out


UNKNOWN_LEVELS = {
    "title": "missing",
    "description": "missing",
    "category": "missing",
    "where": "unknown",
    "when": "unknown",
    "for_whom": "unknown",
    "by_whom": "unknown",
}


def _field_name(name: str) -> str:
    return {
        "title": _("title"),
        "description": _("description"),
        "category": _("category"),
        "where": _("areas"),
        "when": _("dates"),
        "for_whom": _("target groups"),
        "by_whom": _("organisation"),
    }[name]


def explain(
    levels: np.ndarray, weights: np.ndarray, d: Mapping[str, float]
) -> tuple[tuple[str, str, float, str], ...]:
    """Plain-language sentences, one per field, from the levels, weights and numbers;
    the last part names the fields unknown on either side (they weighed nothing)."""
    parts: list[tuple[str, str, float, str]] = []
    unknown: list[str] = []
    for column, name in enumerate(FIELDS):
        label = LEVELS[name][int(levels[column])]
        parts.append((name, label, round(float(weights[column]), 2), _sentence(name, label, d)))
        if UNKNOWN_LEVELS.get(name) == label:
            unknown.append(name)
    order = (
        "category",
        "where",
        "when",
        "for_whom",
        "title",
        "description",
        "text",
        "identifiers",
        "by_whom",
    )
    parts.sort(key=lambda p: order.index(p[0]))
    if unknown:
        listed = ", ".join(_field_name(name) for name in unknown)
        sentence = _("unknown on one side, so neither for nor against: {fields}")
        parts.append(("unknown", ",".join(unknown), 0.0, sentence.format(fields=listed)))
    return tuple(parts)


def _sentence(name: str, label: str, d: Mapping[str, float]) -> str:
    if name == "category":
        return {"same": _("same category"), "different": _("different categories")}.get(label, "")
    if name == "where":
        if label == "same":
            both = d.get("national_a") and d.get("national_b")
            return _("both national") if both else _("same areas")
        if label == "contains":
            if d.get("national_a") or d.get("national_b"):
                return _("a national initiative covers the other's areas")
            return _("the areas of one lie within the other's")
        if label == "municipalities":
            return _("{k} of {n} municipalities shared").format(
                k=int(d["mun_shared"]), n=int(d["mun_union"])
            )
        if label == "district":
            return _("{k} of {n} districts shared").format(
                k=int(d["dist_shared"]), n=int(d["dist_union"])
            )
        return _("no area in common") if label == "none" else ""
    if name == "when":
        if label in {"most", "some"}:
            return _("dates overlap {p} %").format(p=round(100 * d["when"]))
        return _("dates do not overlap") if label == "none" else ""
    if name == "for_whom":
        if label == "same":
            return _("same target group")
        if label == "some":
            return _("{k} of {n} target groups shared").format(
                k=int(d["groups_shared"]), n=int(d["groups_union"])
            )
        return _("different target groups") if label == "none" else ""
    if name == "title":
        return _("titles {x:.2f} similar").format(x=d["title"]) if label == "compared" else ""
    if name == "description":
        if label == "boilerplate":
            return _("same standard description (ignored)")
        if label == "compared":
            return _("descriptions {x:.2f} similar").format(x=d["description"])
        if label == "across":
            return _("descriptions {x:.2f} similar across languages").format(x=d["description"])
        return ""
    if name == "text":
        if label == "compared":
            return _("short texts {x:.2f} similar letter by letter").format(x=d["text"])
        return ""
    if name == "identifiers":
        if label == "shared":
            return _("{k} identifier(s) in common (phone, number or web address)").format(
                k=int(d["identifiers"])
            )
        return _("different phone numbers, numbers or web addresses") if label == "conflict" else ""
    if name == "by_whom":
        return {"same": _("same organisation"), "different": _("different organisations")}.get(
            label, ""
        )
    return ""


# --- clusters ---------------------------------------------------------------------------


def clusters(pairs: Sequence[PairScore]) -> list[list[str]]:
    """Groups of records linked by pairs (connected components), largest first."""
    keys = sorted({k for p in pairs for k in p.pair})
    if not keys:
        return []
    number = {k: n for n, k in enumerate(keys)}
    rows = [number[p.key_a] for p in pairs]
    cols = [number[p.key_b] for p in pairs]
    graph = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(keys), len(keys)))
    count, labels = connected_components(graph, directed=False)
    groups: list[list[str]] = [[] for _n in range(count)]
    for key, label in zip(keys, labels, strict=True):
        groups[label].append(key)
    return sorted((g for g in groups if len(g) > 1), key=lambda g: (-len(g), g[0]))
