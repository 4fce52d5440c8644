"""Exports of a plan for the shop floor (Excel workbook with a Gantt, dispatch lists, KPIs)."""

from furnsim.export.excel import GANTT_FIRST_COL, GANTT_FIRST_ROW, write_schedule_excel

__all__ = ["GANTT_FIRST_COL", "GANTT_FIRST_ROW", "write_schedule_excel"]
