"""Precision, recall and F1 of overlap detection on the labelled benchmark.

    .venv/bin/python -m benchmarks.overlap_quality          # the printed figures
    .venv/bin/python -m benchmarks.overlap_quality --fit    # estimate weights (training half)

Scenes (an effort with its duplicates and hard negatives) with an even number are the
training half, used only by ``--fit`` to estimate the Fellegi-Sunter weights (m from
true pairs, u from the other candidate pairs) and to pick the threshold; the odd scenes
are held out and give the printed figures. Truth: two records describe the same effort
(the ``effort`` column); every other pair is a non-match. Pairwise figures over all pairs,
so a true pair the candidate search misses counts as a miss.
"""

from __future__ import annotations

import argparse
import csv
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from hub import settings
from hub.i18n import set_language
from initiatives import overlap_index as engine
from initiatives.overlap import read_overlap_file
from initiatives.overlap_index import AreaTree, OverlapIndex, OverlapRecord

DATA = Path(__file__).parent / "data" / "overlap_labelled.csv"


def tree() -> AreaTree:
    from geo.areas import reference_areas

    areas = reference_areas()
    return AreaTree(
        parents={a.code: a.parent_code for a in areas},
        country="PT",
        names={a.code: a.name for a in areas},
    )


def load() -> tuple[list[OverlapRecord], dict[str, str], dict[str, int]]:
    records = read_overlap_file(DATA.read_bytes(), filename=DATA.name)
    effort: dict[str, str] = {}
    scene: dict[str, int] = {}
    with DATA.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            effort[row["id"]] = row["effort"]
            scene[row["id"]] = int(row["scene"])
    return records, effort, scene


def true_pairs(keys: list[str], effort: dict[str, str]) -> set[tuple[str, str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for k in keys:
        groups[effort[k]].append(k)
    return {
        (min(a, b), max(a, b))
        for members in groups.values()
        for n, a in enumerate(members)
        for b in members[n + 1 :]
    }


def evaluate(records: list[OverlapRecord], effort: dict[str, str], cut: float) -> dict[str, float]:
    index = OverlapIndex.build(records, tree(), top_k=int(settings.get("HUB_OVERLAP_TOP_K")))
    found = {tuple(sorted(p.pair)) for p in index.find_pairs(cut)}
    truth = true_pairs([r.key for r in records], effort)
    i, j = index.candidate_pairs()
    candidates = {tuple(sorted((index.keys[a], index.keys[b]))) for a, b in zip(i, j, strict=True)}
    tp = len(found & truth)
    precision = tp / len(found) if found else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "records": len(records),
        "true_pairs": len(truth),
        "flagged": len(found),
        "candidate_recall": len(candidates & truth) / len(truth) if truth else 1.0,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def fit(records: list[OverlapRecord], effort: dict[str, str]) -> None:
    """Estimate log2(m/u) per level on the training half and the best prior/threshold."""
    index = OverlapIndex.build(records, tree(), top_k=int(settings.get("HUB_OVERLAP_TOP_K")))
    i, j = index.candidate_pairs()
    truth = true_pairs([r.key for r in records], effort)
    # True pairs the candidate search missed still count for m.
    position = index.position
    extra = [(position[a], position[b]) for a, b in truth]
    all_i = np.concatenate([i, np.array([a for a, _b in extra], dtype=np.int64)])
    all_j = np.concatenate([j, np.array([b for _a, b in extra], dtype=np.int64)])
    pairs = {(min(a, b), max(a, b)) for a, b in zip(all_i.tolist(), all_j.tolist(), strict=True)}
    all_i = np.array([a for a, _b in pairs], dtype=np.int64)
    all_j = np.array([b for _a, b in pairs], dtype=np.int64)
    _p, levels = index.score_pairs(all_i, all_j)
    match = np.array(
        [
            tuple(sorted((index.keys[a], index.keys[b]))) in truth
            for a, b in zip(all_i, all_j, strict=True)
        ]
    )
    # Logistic regression over one-hot comparison levels: the coefficients are additive
    # per-level weights exactly as in Fellegi-Sunter (log odds, here converted to log2),
    # but fitted jointly, so evidence that moves together (same concept elsewhere shares
    # the words; another effort in the same place shares where and when) is not counted
    # twice as the independence assumption of m/u estimates would.
    from sklearn.linear_model import LogisticRegression

    offsets = np.cumsum([0] + [len(engine.LEVELS[n]) for n in engine.FIELDS])
    x = np.zeros((len(levels), offsets[-1]))
    for column in range(len(engine.FIELDS)):
        x[np.arange(len(levels)), offsets[column] + levels[:, column]] = 1
    model = LogisticRegression(C=0.5, max_iter=2000).fit(x, match)
    coef = model.coef_[0] / math.log(2)
    seen = x.sum(axis=0) > 0
    print("WEIGHTS = {")
    for column, name in enumerate(engine.FIELDS):
        part = slice(offsets[column], offsets[column + 1])
        w = [
            round(float(c) * 2) / 2 if s else 0.0
            for c, s in zip(coef[part], seen[part], strict=True)
        ]
        print(f"    {name!r}: {tuple(w)},")
    print("}")
    prior = float(model.intercept_[0] / math.log(2))
    total = x @ coef + prior
    best = (0.0, 0.0)
    for cut in np.arange(0.3, 0.99, 0.05):
        flagged = engine.probability(total) >= cut
        tp = int((flagged & match).sum())
        precision = tp / max(int(flagged.sum()), 1)
        recall = tp / max(len(truth), 1)
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        best = max(best, (f1, float(cut)))
    print(f"PRIOR = {prior:.1f}; best training F1 {best[0]:.4f} at threshold {best[1]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fit", action="store_true")
    args = parser.parse_args()
    set_language("en")
    records, effort, scene = load()
    train = [r for r in records if scene[r.key] % 2 == 0]
    test = [r for r in records if scene[r.key] % 2 == 1]
    if args.fit:
        fit(train, effort)
        return
    cut = float(settings.get("HUB_OVERLAP_THRESHOLD"))
    for name, part in (("training half", train), ("held-out half", test)):
        r = evaluate(part, effort, cut)
        print(
            f"{name}: {r['records']} initiatives, {r['true_pairs']} true pairs, "
            f"{r['flagged']} flagged at threshold {cut}; candidate recall "
            f"{r['candidate_recall']:.4f}; precision {r['precision']:.4f} recall "
            f"{r['recall']:.4f} F1 {r['f1']:.4f}"
        )


if __name__ == "__main__":
    main()
