"""Speed of overlap detection on synthetic registries (this machine's figures go in
docs/overlaps.md).

    .venv/bin/python -m benchmarks.overlap_speed            # 100k: full run + single checks
    .venv/bin/python -m benchmarks.overlap_speed --size 1000000 --checks 0   # ~1 min quiet

Records come from the labelled benchmark's generator (benchmarks.make_overlap_dataset)
with a long tail added: 5,000 organisations and a programme name drawn from 50,000
made-up words per scene, so the vocabulary is Zipf-like rather than a handful of
templates. Generation is not timed. Timed: building the index (features + TF-IDF),
the top-k candidate join, and scoring every candidate pair; then single checks of a new
record against the built index (query + scoring), as the partner form does.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import time
import tracemalloc
from dataclasses import replace
from datetime import timedelta

import numpy as np

from benchmarks.make_overlap_dataset import scenes
from benchmarks.overlap_quality import tree
from hub.i18n import set_language
from initiatives.overlap_index import OverlapIndex, OverlapRecord


def synthetic(size: int, seed: int = 7) -> list[OverlapRecord]:
    rng = random.Random(seed)
    syllables = ["ba", "ce", "di", "fo", "gu", "la", "me", "ni", "po", "ru", "sa", "te", "vi"]
    words = sorted({"".join(rng.choices(syllables, k=rng.randint(3, 5))) for _n in range(60_000)})
    organisations = [f"org{n}" for n in range(5_000)]
    out: list[OverlapRecord] = []
    base = list(scenes(800, seed=seed))
    # Equal values are shared, not rebuilt per record (the same records, in less memory:
    # the peak RSS printed includes them): a base row's sets, and its texts per word.
    groups = [frozenset(row.target_groups) for row in base]
    areas = [frozenset(row.areas) for row in base]
    texts: dict[tuple[int, str], tuple[str, str]] = {}
    serial = 0
    while len(out) < size:
        for n, row in enumerate(base):
            serial += 1
            word = words[min(int(rng.paretovariate(1.0) * 20) - 20, len(words) - 1)]  # Zipf-like
            shift = rng.randrange(0, 3000)
            title, description = texts.setdefault(
                (n, word),
                (f"{row.title} {word.capitalize()}", f"{row.description} Projeto {word}."),
            )
            out.append(
                OverlapRecord(
                    key=f"S{serial}",
                    title=title,
                    description=description,
                    organisation=rng.choice(organisations),
                    category=row.category,
                    target_groups=groups[n],
                    areas=areas[n],
                    start=row.start.replace(year=2020) + _days(shift),
                    end=row.end.replace(year=2020) + _days(shift + 90),
                )
            )
            if len(out) >= size:
                break
    return out


def _days(n: int) -> timedelta:
    return timedelta(days=n)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--checks", type=int, default=300)
    parser.add_argument("--tracemalloc", action="store_true", help="slower; Python heap peak")
    args = parser.parse_args()
    set_language("en")
    records = synthetic(args.size)
    areas = tree()
    gc.collect()
    rss_before = peak_rss_mb()
    load_before = os.getloadavg()[0]
    if args.tracemalloc:
        tracemalloc.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    index = OverlapIndex.build(records, areas)
    built = time.perf_counter()
    i, j = index.candidate_pairs()
    joined = time.perf_counter()
    probabilities = index.probabilities(i, j)  # what find_pairs scores every pair with
    flagged = int((probabilities >= 0.5).sum())
    scored, cpu_used = time.perf_counter(), time.process_time() - cpu_started
    heap = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else float("nan")
    print(
        f"{args.size:,} initiatives: index {built - started:.1f} s, top-k join "
        f"{joined - built:.1f} s ({len(i):,} candidate pairs), scoring {scored - joined:.1f} s; "
        f"total {scored - started:.1f} s; {flagged:,} pairs >= 0.5; CPU time {cpu_used:.1f} s "
        f"(both threads; load average {load_before:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores: wall time above CPU "
        f"time / 2 means the run waited for a core)"
    )
    print(
        f"peak RSS {peak_rss_mb():,.0f} MB (before building: {rss_before:,.0f} MB, records "
        f"included); traced Python heap peak {heap:,.0f} MB"
    )
    if args.checks:
        rng = random.Random(3)
        timings, cpu = [], []
        for n in range(args.checks):
            probe = records[rng.randrange(len(records))]
            probe = replace(probe, key=f"new{n}", title=probe.title + " novo")
            t0, c0 = time.perf_counter(), time.thread_time()
            positions = index.query(probe, limit=20)
            index.score_against(probe, positions)
            timings.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.thread_time() - c0) * 1000)
        print(
            f"one new initiative against {args.size:,}: median {np.median(timings):.1f} ms, "
            f"p95 {np.percentile(timings, 95):.1f} ms ({args.checks} checks); CPU time "
            f"median {np.median(cpu):.1f} ms, p95 {np.percentile(cpu, 95):.1f} ms"
        )
        t0 = time.perf_counter()
        index.upsert([replace(records[0], title=records[0].title + " editado")])
        took = (time.perf_counter() - t0) * 1000
        print(f"incremental update of one saved initiative: {took:.0f} ms")


if __name__ == "__main__":
    main()
