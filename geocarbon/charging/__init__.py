"""Public charging-point coverage: IRVE cleaning, indicators, population access."""
