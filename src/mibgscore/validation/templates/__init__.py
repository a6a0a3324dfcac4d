"""Readings templates and the HTML report template."""
