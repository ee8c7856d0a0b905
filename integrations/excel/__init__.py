"""Excel workbooks GridDesk writes: the ticket export, the indicator tables, and the one rule
that keeps text from being read as a formula (cells.py)."""
