"""Exchanging initiatives with other tools: CSV/XLSX import and CSV, XLSX, HXL and IATI export.

The exchange format is documented in docs/exchange-format.md. One module per stage:
``tables`` reads CSV/XLSX into rows and parses cells (with the size limits),
``formats`` names the columns and export formats, ``importing`` validates and writes
rows and reports problems, ``export`` writes CSV, XLSX, HXL and the template, ``iati``
writes IATI XML. The names below stay importable from ``initiatives.exchange``.
"""

from initiatives.exchange.export import export_initiatives, import_template
from initiatives.exchange.formats import (
    COLUMNS,
    FILE_SUFFIXES,
    HXL_AREA_COLUMNS,
    HXL_COLUMNS,
    MEDIA_TYPES,
    PUBLIC_COLUMNS,
    REQUIRED_COLUMNS,
    ExportFile,
    ExportFormat,
    ExportRow,
)
from initiatives.exchange.iati import iati_identifier, iati_xml, reporting_org_ref
from initiatives.exchange.importing import (
    FieldProblem,
    ImportReport,
    RowProblem,
    draft_problems,
    import_initiatives,
)
from initiatives.exchange.tables import (
    MAX_ROWS,
    SEPARATOR,
    area_code,
    cell_text,
    parse_date,
    parse_whole_number,
    read_table,
    split_cell,
)

__all__ = [
    "COLUMNS",
    "FILE_SUFFIXES",
    "HXL_AREA_COLUMNS",
    "HXL_COLUMNS",
    "MAX_ROWS",
    "MEDIA_TYPES",
    "PUBLIC_COLUMNS",
    "REQUIRED_COLUMNS",
    "SEPARATOR",
    "ExportFile",
    "ExportFormat",
    "ExportRow",
    "FieldProblem",
    "ImportReport",
    "RowProblem",
    "area_code",
    "cell_text",
    "draft_problems",
    "export_initiatives",
    "iati_identifier",
    "iati_xml",
    "import_initiatives",
    "import_template",
    "parse_date",
    "parse_whole_number",
    "read_table",
    "reporting_org_ref",
    "split_cell",
]
