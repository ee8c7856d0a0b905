"""Statistics: per-event facts and daily rollups kept current from the timeline, the indicators
with their definitions, and the analyses (hotspots, seasons, recurring problems)."""
