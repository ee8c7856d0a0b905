"""Exports: the job rows that carry a long export's progress, and the rows an export reads."""
