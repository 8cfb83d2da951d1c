"""Cross-language scenes for the labelled overlap benchmark (issue 18).

One partner describes an effort in Portuguese, another the same effort in English (or
the reverse): other words, other sentence order, dates shifted a little, areas the same
or a subset. Around each pair, hard negatives in the other language too: another effort
of the same category in the same place and period (``same_place_other_effort``), and the
same kind of effort in another district and period (``same_kind_elsewhere``). Worded
by ``benchmarks.make_overlap_dataset.describe`` from the same concepts, so only the
language differs from the rest of the benchmark. Deterministic (fixed seed); their
periods (from 2040) never meet the main set's, so the two can be scored together
without unlabelled overlaps.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta

from benchmarks.make_overlap_dataset import (
    CONCEPTS,
    ORG_NAMES,
    Row,
    areas_reference,
    describe,
)

SEED = 18018
HALVES = 30
WHOLE_COUNTRY = {"pt": "todo o país", "en": "the whole country"}


def cross_language_scenes(count: int = 160, seed: int = SEED) -> tuple[list[Row], dict[str, str]]:
    """Rows (scene numbers from 10,000, ids X00001...) and each row's language."""
    rng = random.Random(seed)
    names, municipalities = areas_reference()
    districts = sorted(municipalities)
    halves = [date(2040, 1, 1) + timedelta(days=182 * n) for n in range(HALVES)]
    used: set[tuple[str, str, int]] = set()
    rows: list[Row] = []
    language: dict[str, str] = {}

    def take(code: str, region: str, half: int) -> bool:
        """One effort per kind, district and half-year (a national one: the country's)."""
        if (code, region, half) in used or (code, "PT", half) in used:
            return False
        if region == "PT" and any((code, d, half) in used for d in districts):
            return False
        used.add((code, region, half))
        return True

    def add(row: Row, lang: str) -> Row:
        row = replace(row, id=f"X{len(rows) + 1:05d}")
        rows.append(row)
        language[row.id] = lang
        return row

    for number in range(count):
        scene = 10_000 + number
        concept = rng.choice(CONCEPTS)
        lang = "pt" if number % 2 == 0 else "en"
        other_lang = "en" if lang == "pt" else "pt"
        group = rng.choice(concept.groups)
        district, half = rng.choice(districts), rng.randrange(HALVES - 1)
        national = rng.random() < 0.15
        if not take(concept.code, "PT" if national else district, half):
            continue
        if national:
            areas: tuple[str, ...] = ("PT",)
        elif rng.random() < 0.5:
            areas = (district,)
        else:
            areas = tuple(
                sorted(rng.sample(municipalities[district], min(3, len(municipalities[district]))))
            )

        def place(in_lang: str, codes: tuple[str, ...] = areas) -> str:
            return (
                WHOLE_COUNTRY[in_lang] if codes == ("PT",) else ", ".join(names[c] for c in codes)
            )

        start = halves[half] + timedelta(days=rng.randrange(0, 60))
        end = start + timedelta(days=rng.randrange(60, 120))
        programme = "Programa " + rng.choice(("Aurora", "Ponte", "Elo", "Farol", "Raiz"))
        effort = f"X{scene}"
        org = rng.choice(ORG_NAMES)
        title, description = describe(rng, concept, lang, group, place(lang), programme=programme)
        base = add(
            Row(
                "",
                title,
                description,
                org,
                concept.category,
                (group,),
                areas,
                start,
                end,
                effort,
                scene,
            ),
            lang,
        )
        sub = areas if len(areas) == 1 or rng.random() < 0.5 else areas[:-1]
        title, description = describe(
            rng, concept, other_lang, group, place(other_lang, sub), programme=programme
        )
        shift = timedelta(days=rng.randrange(-20, 21))
        add(
            replace(
                base,
                title=title,
                description=description,
                organisation=rng.choice([o for o in ORG_NAMES if o != org]),
                areas=sub,
                start=start + shift,
                end=end + shift,
            ),
            other_lang,
        )
        others = [c for c in CONCEPTS if c.category == concept.category and c != concept]
        if others and rng.random() < 0.6:
            other = rng.choice(others)
            if take(other.code, "PT" if national else district, half):
                other_group = group if group in other.groups else rng.choice(other.groups)
                title, description = describe(
                    rng, other, other_lang, other_group, place(other_lang), programme=programme
                )
                add(
                    Row(
                        "",
                        title,
                        description,
                        rng.choice(ORG_NAMES),
                        other.category,
                        (other_group,),
                        areas,
                        start,
                        end,
                        f"{effort}-same_place_other_effort",
                        scene,
                    ),
                    other_lang,
                )
        if not national and rng.random() < 0.6:
            elsewhere = rng.choice([d for d in districts if d != district])
            other_half = (half + rng.randrange(2, HALVES - 2)) % (HALVES - 1)
            if take(concept.code, elsewhere, other_half):
                title, description = describe(
                    rng, concept, other_lang, group, names[elsewhere], programme=programme
                )
                other_start = halves[other_half] + timedelta(days=rng.randrange(0, 60))
                add(
                    Row(
                        "",
                        title,
                        description,
                        rng.choice(ORG_NAMES),
                        concept.category,
                        (group,),
                        (elsewhere,),
                        other_start,
                        other_start + (end - start),
                        f"{effort}-same_kind_elsewhere",
                        scene,
                    ),
                    other_lang,
                )
    return rows, language
