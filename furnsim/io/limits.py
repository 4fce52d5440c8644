"""Bounds on what reading one input file may cost (``docs/data-format.md``, "Limits").

Uploaded files are untrusted: an .xlsx is a zip of XML that may declare a huge sheet, unpack
to gigabytes, or hold many more rows than a week has. Every reader checks these bounds
before (or while) it reads, and a file past one is a :class:`~furnsim.errors.DataError`
naming the file (and sheet), never a long wait or a MemoryError. The values are module
constants: change them here (or monkeypatch them) for a larger plant.
"""

from __future__ import annotations

__all__ = [
    "MAX_CELLS",
    "MAX_COLUMNS",
    "MAX_CSV_FIELD",
    "MAX_FILE_BYTES",
    "MAX_JOBS",
    "MAX_MINUTES",
    "MAX_ORDERS",
    "MAX_ROWS",
    "MAX_SHARED_STRINGS",
    "MAX_STYLES",
    "MAX_TOTAL_MINUTES",
    "MAX_XLSX_MEMBERS",
    "MAX_XLSX_UNCOMPRESSED",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
]

#: size on disk of one input file (.xlsx, .csv, .yaml)
MAX_FILE_BYTES = 50 * 2**20
#: members of an .xlsx (a zip): sheets, styles, shared strings, ...
MAX_XLSX_MEMBERS = 1_000
#: sum of the uncompressed sizes of an .xlsx's members (a zip bomb is refused before reading)
MAX_XLSX_UNCOMPRESSED = 64 * 2**20
#: data rows of one sheet / CSV table / YAML table
MAX_ROWS = 50_000
#: the rightmost column holding a value (the header included)
MAX_COLUMNS = 500
#: cells (empty styled ones included) and rows in the sheets of one workbook, all together
MAX_CELLS = 500_000
#: entries of a workbook's shared-string table
MAX_SHARED_STRINGS = 200_000
#: style records (cell formats, fonts, fills, borders, number formats) and defined names
MAX_STYLES = 50_000
#: characters of one CSV field (the csv module's default limit, 128 KiB)
MAX_CSV_FIELD = 128 * 1024
#: nesting depth of a YAML document (a data file needs 3: tables, rows, values)
MAX_YAML_DEPTH = 20
#: YAML events (scalars, sequences, mappings) of one document
MAX_YAML_NODES = 5_000_000
#: orders of one instance
MAX_ORDERS = 20_000
#: component jobs of one instance (orders x components per article)
MAX_JOBS = 50_000
#: any time value (minutes per piece, fixed, setup, transport, release, deadline) and any
#: one batch (fixed + pieces x minutes per piece): 10 million minutes, about 19 years
MAX_MINUTES = 1e7
#: all batches of an instance together (their minutes on the slowest eligible machine)
MAX_TOTAL_MINUTES = 1e9
