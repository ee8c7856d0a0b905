"""Background exports (models/exports/jobs.py): the runner that claims a job, writes its file
with the kind's writer (the ticket workbook, the monthly report's PDF) while recording the
progress, stores it and finishes the job."""
