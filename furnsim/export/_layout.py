"""Cells, column widths and print setup shared by the sheets of the Excel export.

* **Text is text.** Every string goes into the workbook as an inline string
  (``data_type = "s"``), never as a formula: an order id ``=HYPERLINK(...)`` from an
  orders file shows as those characters. Strings that a spreadsheet would read as a formula
  when the cell is edited (``= + - @``, a tab or a carriage return first) also carry Excel's
  quote prefix, so they stay text after editing.
* **Widths fit what is shown.** Rows of a sheet are collected first (write-only sheets take
  their column widths before the first row), then every column gets at least the printed
  length of its longest value (datetimes by their number format) plus padding, scaled by
  the cell's font size. Titles that run on into empty neighbours are marked ``spill``.
* **Print setup.** Every sheet prints landscape with repeated title rows, margins, the
  sheet name and page number. Sheets without manual page breaks fit their width to the
  page (``fitToWidth=1, fitToHeight=0``). Sheets with manual breaks (Gantt: one day per
  page; dispatch lists: one machine per page) get a computed scale instead, because Excel
  ignores manual page breaks under "fit to page"; the scale makes their widest page fit.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import Any

from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break

__all__ = [
    "A3",
    "A4",
    "DEFAULT_DATETIME_FORMAT",
    "CellMaker",
    "FORMULA_PREFIXES",
    "SheetRows",
    "display_length",
    "fit_scale",
    "format_pattern",
    "page_body_mm",
    "print_setup",
    "text_cell",
]

#: first characters that make a spreadsheet read typed text as a formula
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: paper: (openpyxl paperSize code, long side mm, short side mm)
A4 = (9, 297.0, 210.0)
A3 = (8, 420.0, 297.0)

# margins in inches (Excel's unit): the header and footer sit inside the top / bottom margin
MARGIN_LR = 0.3
MARGIN_TB = 0.5
MARGIN_HF = 0.2

DEFAULT_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"

# Excel number format -> strftime: the formats this export writes (the length of what prints)
_PATTERNS = {
    "yyyy-mm-dd hh:mm": "%Y-%m-%d %H:%M",
    "ddd hh:mm": "%a %H:%M",
    "ddd dd.mm. hh:mm": "%a %d.%m. %H:%M",
    "dd.mm. hh:mm": "%d.%m. %H:%M",
    "dd.mm.yy hh:mm": "%d.%m.%y %H:%M",
    "hh:mm": "%H:%M",
}


def format_pattern(number_format: str) -> str:
    """The strftime pattern of one of the datetime formats this export uses."""
    try:
        return _PATTERNS[number_format]
    except KeyError as e:  # a new format must be added here, or its widths would be guessed
        raise ValueError(f"unknown datetime format {number_format!r}") from e


@functools.lru_cache(maxsize=32)
def _datetime_length(number_format: str) -> int:
    # every pattern used prints at a fixed length ("%a" is three letters in the C locale)
    return len(datetime(2026, 12, 28, 23, 59).strftime(format_pattern(number_format)))


def _number_text(v: float) -> str:
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int) or (math.isfinite(v) and v == int(v) and abs(v) < 1e15):
        return str(int(v))
    return repr(float(v))[:11]  # Excel's General shows at most 11 characters


def display_length(value: Any, number_format: str | None = None) -> int:
    """Characters the value prints as (longest line of a text)."""
    if value is None:
        return 0
    if isinstance(value, str):
        return max((len(line) for line in value.split("\n")), default=0)
    if isinstance(value, datetime | date | time):
        fmt = number_format if number_format and number_format != "General" else None
        if fmt is None:
            fmt = DEFAULT_DATETIME_FORMAT
        return _datetime_length(fmt)
    if isinstance(value, int | float):
        return len(_number_text(value))
    return len(str(value))


def clean_text(value: str) -> str:
    """``value`` as a worksheet can hold it: control characters replaced, at most 32,767."""
    value = value[:32767]
    if ILLEGAL_CHARACTERS_RE.search(value):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return value


def needs_text_cell(value: str) -> bool:
    """Whether a plain string would not stay plain text: openpyxl writes ``=...`` as a
    formula and ``#N/A`` as an error; ``+ - @`` need the quote prefix against editing."""
    return value.startswith(FORMULA_PREFIXES) or value in ERROR_CODES


def text_cell(ws: Any, value: str, style: StyleArray | None = None) -> Cell:
    """A cell that holds ``value`` as text, whatever its first character (``style``: a
    prepared style array, copied)."""
    c = Cell(ws, row=1, column=1, style_array=StyleArray(style) if style is not None else None)
    c._value = clean_text(value)
    c.data_type = "s"  # an inline string, never a formula
    if value.startswith(FORMULA_PREFIXES):
        c.quotePrefix = True  # stays text when someone edits the cell
    return c


class CellMaker:
    """Styled cells of one workbook; each style combination is resolved once (setting
    ``font``/``fill``/... per cell hashes the style objects, which dominates the export)."""

    def __init__(self) -> None:
        self._arrays: dict[tuple[Any, ...], StyleArray] = {}
        self._measure: dict[tuple[int, ...], tuple[float, bool, str | None, float]] = {}
        self._refs: list[tuple[Any, ...]] = []

    def __call__(
        self,
        ws: Any,
        value: Any,
        *,
        font: Any = None,
        fill: Any = None,
        fmt: str | None = None,
        align: Any = None,
        border: Any = None,
    ) -> Cell:
        if fmt is None and isinstance(value, datetime | date):
            fmt = DEFAULT_DATETIME_FORMAT
        key = (id(ws.parent), id(font), id(fill), fmt, id(align), id(border))
        arr = self._arrays.get(key)
        if arr is None:
            proto = WriteOnlyCell(ws)
            if font is not None:
                proto.font = font
            if fill is not None:
                proto.fill = fill
            if fmt is not None:
                proto.number_format = fmt
            if align is not None:
                proto.alignment = align
            if border is not None:
                proto.border = border
            arr = self._arrays[key] = proto._style
            # keep the style objects alive while their id() is a key
            self._refs.append((ws.parent, font, fill, align, border))
        if isinstance(value, str):
            return text_cell(ws, value, arr)
        c = Cell(ws, row=1, column=1, style_array=StyleArray(arr))
        if value is None:
            pass
        elif isinstance(value, datetime | date):
            c._value, c.data_type = value, "d"
        elif isinstance(value, bool):
            c._value, c.data_type = value, "b"
        elif isinstance(value, int | float):
            c._value = value  # data_type "n"
        else:
            c.value = value
        return c

    def measure(self, cell: Cell) -> tuple[float, bool, str | None, float]:
        """(font size, bold, number format, indent) of a cell, looked up once per style."""
        st = cell._style
        key = (st.fontId, st.numFmtId, st.alignmentId)
        m = self._measure.get(key)
        if m is None:
            f = cell.font
            fmt = cell.number_format
            m = self._measure[key] = (
                float(f.sz) if f.sz else 11.0,
                bool(f.b),
                None if fmt == "General" else fmt,
                float(cell.alignment.indent or 0.0),
            )
        return m


class SheetRows:
    """Rows of one write-only sheet, held until the column widths are known."""

    def __init__(self, ws: Any, cells: CellMaker) -> None:
        self.ws = ws
        self.cells = cells
        self.rows: list[list[Any]] = []
        self.spill: set[tuple[int, int]] = set()  # (row, col), 1-based: text may run on
        self.breaks: list[int] = []  # row numbers after which a page ends

    @property
    def n(self) -> int:
        """Rows so far (= the 1-based number of the last row)."""
        return len(self.rows)

    def add(self, values: Iterable[Any] = (), *, spill: Sequence[int] = ()) -> int:
        """Append a row; strings become text cells. ``spill``: 1-based columns whose text may
        run on into empty neighbours (titles). Returns the row number."""
        line: list[Any] = []
        for v in values:
            if isinstance(v, str):
                v = clean_text(v)
                if needs_text_cell(v):
                    v = text_cell(self.ws, v)
            elif isinstance(v, datetime | date):
                v = self.cells(self.ws, v)
            elif isinstance(v, Cell) and v.data_type == "f":
                raise ValueError("a formula cell in the export")  # none is written on purpose
            line.append(v)
        self.rows.append(line)
        r = len(self.rows)
        for c in spill:
            self.spill.add((r, c))
        return r

    def page_break(self) -> None:
        """A page ends after the last row added."""
        if self.rows:
            self.breaks.append(len(self.rows))

    def needed_widths(self) -> dict[int, float]:
        """Per column (1-based): the width its longest value needs, scaled by font size."""
        need: dict[int, float] = {}
        measure = self.cells.measure
        for r, line in enumerate(self.rows, start=1):
            for c, v in enumerate(line, start=1):
                if v is None or (r, c) in self.spill:
                    continue
                if isinstance(v, Cell):
                    val = v._value
                    if val is None:
                        continue
                    size, bold, fmt, indent = (
                        measure(v) if v.has_style else (11.0, False, None, 0.0)
                    )
                else:
                    val, size, bold, fmt, indent = v, 11.0, False, None, 0.0
                n = display_length(val, fmt)
                if not n:
                    continue
                # width unit = one digit of the default 11 pt font; letters of ids run wider
                k = size / 11.0 * (1.15 if isinstance(val, str) else 1.0) * (1.1 if bold else 1.0)
                w = n * k + 1.0 + indent  # an indent level is about one character
                if w > need.get(c, 0.0):
                    need[c] = w
        return need

    def widths(
        self,
        *,
        min_widths: dict[int, float] | None = None,
        fixed: dict[int, float] | None = None,
        max_width: float = 60.0,
    ) -> dict[int, float]:
        """Column widths: what the values need (at least ``min_widths``), ``fixed`` as given."""
        widths = {c: min(max_width, math.ceil(w * 2) / 2) for c, w in self.needed_widths().items()}
        for c, w in (min_widths or {}).items():
            widths[c] = max(widths.get(c, 0.0), w)
        widths.update(fixed or {})
        return widths

    def write(self, widths: dict[int, float]) -> None:
        """Set the column widths and the row breaks, then stream the rows. Everything that
        precedes the rows in the file (widths, frozen panes, fit-to-page) must be set first."""
        for c, w in widths.items():
            self.ws.column_dimensions[get_column_letter(c)].width = w
        for r in self.breaks:
            self.ws.row_breaks.append(Break(id=r))
        for line in self.rows:
            self.ws.append(line)


def column_mm(width_chars: float) -> float:
    """Printed width of a column ``width_chars`` wide at 100 %: the wider of LibreOffice
    (7 pt a unit, measured) and Excel (7 px a unit + 5 px)."""
    return max(7.0 * width_chars, (width_chars * 7 + 5) * 0.75) * 25.4 / 72


def page_body_mm(paper: tuple[int, float, float]) -> tuple[float, float]:
    """Printable (width, height) in mm of a landscape page inside this module's margins."""
    _, long_side, short_side = paper
    return long_side - 2 * MARGIN_LR * 25.4, short_side - 2 * MARGIN_TB * 25.4


def fit_scale(width_mm: float, paper: tuple[int, float, float]) -> int:
    """The print scale (percent, 10-100) at which ``width_mm`` fits the page width."""
    body_w, _ = page_body_mm(paper)
    return max(10, min(100, int(body_w / max(width_mm, 1.0) * 100)))


def _escape(text: str) -> str:
    return text.replace("&", "&&")  # "&" starts a header/footer code


def print_setup(
    ws: Any,
    *,
    paper: tuple[int, float, float],
    title_rows: str | None,
    title_cols: str | None = None,
    scale: int | None = None,
    header: str = "",
    print_area: str | None = None,
) -> None:
    """Landscape on ``paper``; fit to the page width unless ``scale`` is given (sheets with
    manual page breaks); repeated ``title_rows`` / ``title_cols``; header with the sheet name
    and ``header`` text; footer with the page number."""
    ps = ws.page_setup
    ps.orientation = "landscape"
    ps.paperSize = paper[0]
    if scale is None:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ps.fitToWidth = 1
        ps.fitToHeight = 0
    else:
        ws.sheet_properties.pageSetUpPr.fitToPage = False
        ps.scale = scale
    if title_rows:
        ws.print_title_rows = title_rows
    if title_cols:
        ws.print_title_cols = title_cols
    if print_area:
        ws.print_area = print_area
    m = ws.page_margins
    m.left = m.right = MARGIN_LR
    m.top = m.bottom = MARGIN_TB
    m.header = m.footer = MARGIN_HF
    ws.oddHeader.left.text = "&B&A"  # sheet name, bold
    ws.oddHeader.left.size = 10
    ws.oddHeader.right.text = _escape(header)
    ws.oddHeader.right.size = 8
    ws.oddFooter.left.text = "furnsim"
    ws.oddFooter.left.size = 8
    ws.oddFooter.center.text = "&A · page &P of &N"
    ws.oddFooter.center.size = 8
