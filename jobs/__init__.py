"""Background work: sweeps that catch up with everything due, run by one scheduler process."""
