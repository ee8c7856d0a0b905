"""Excel workbooks GridDesk writes: the ticket export, the indicator tables, and the one rule
that keeps text from being read as a formula (cells.py).

openpyxl (about 35 MB once imported) is imported by the modules of this package only: callers
import them where a workbook is written, so a web worker that never writes one never holds it.
"""

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
