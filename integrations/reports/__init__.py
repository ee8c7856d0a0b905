"""Reports GridDesk draws from the statistics: the printable monthly report (HTML with print
CSS, and the same as a PDF through integrations.pdf)."""
