"""Imports: indicator CSVs, Ookla speed tiles and official boundaries.

Every import first checks the whole file and builds a validation report naming each
problem by row (or feature) and field, with the fix. If there is any error, nothing is
written and ``ImportRejected`` carries the report; otherwise everything is written in
one transaction with one audit entry listing the values changed.

One module per importer (``indicators``, ``ookla``, ``boundaries``) sharing ``report``;
the names below stay importable from ``connectivity.imports``.
"""

from connectivity.gaps import NEED_INDICATORS
from connectivity.imports.boundaries import (
    MAX_BOUNDARY_BYTES,
    MAX_FEATURE_VERTICES,
    BoundaryFeature,
    import_boundaries,
    parse_boundaries,
)
from connectivity.imports.indicators import (
    ALL_INDICATORS,
    COUNT_INDICATORS,
    INFO_INDICATORS,
    LONG_COLUMNS,
    MAX_ROWS,
    IndicatorRow,
    import_indicators,
    indicator_label,
    parse_indicator_csv,
    save_indicator_values,
)
from connectivity.imports.ookla import (
    DEFAULT_THRESHOLD_KBPS,
    OOKLA_COLUMNS,
    OOKLA_SOURCE,
    AreaSpeed,
    SpeedTile,
    aggregate_tiles,
    area_locator,
    import_ookla_tiles,
    parse_ookla_csv,
    quadkey_center,
    quadkey_to_tile,
)
from connectivity.imports.report import (
    ImportRejected,
    ImportReport,
    Problem,
    csv_problem,
    decode_text,
    system_principal,
)

__all__ = [
    "ALL_INDICATORS",
    "COUNT_INDICATORS",
    "DEFAULT_THRESHOLD_KBPS",
    "INFO_INDICATORS",
    "LONG_COLUMNS",
    "MAX_BOUNDARY_BYTES",
    "MAX_FEATURE_VERTICES",
    "MAX_ROWS",
    "NEED_INDICATORS",
    "OOKLA_COLUMNS",
    "OOKLA_SOURCE",
    "AreaSpeed",
    "BoundaryFeature",
    "ImportRejected",
    "ImportReport",
    "IndicatorRow",
    "Problem",
    "SpeedTile",
    "aggregate_tiles",
    "area_locator",
    "csv_problem",
    "decode_text",
    "import_boundaries",
    "import_indicators",
    "import_ookla_tiles",
    "indicator_label",
    "parse_boundaries",
    "parse_indicator_csv",
    "parse_ookla_csv",
    "quadkey_center",
    "quadkey_to_tile",
    "save_indicator_values",
    "system_principal",
]
