"""Rooftop photovoltaic potential: roof model, yield model (pvlib), pipeline step."""
