"""The statistics pages (统计分析), one module per page: dashboard, analysis, map, the monthly
report; figures.py holds what they share (the indicator rows for the filters, the key-figure
cards, the links to the tickets behind a figure), filters.py the filter form. Each page reads
its filters, asks models.stats for the numbers and renders; nothing is counted here."""
