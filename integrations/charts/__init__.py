"""Static charts drawn on the server as SVG: they print, and WeasyPrint puts them in the PDF
(nothing to run in a browser)."""
