"""The ETL example's tasks: extract each region, transform, load, clean up, alert."""
