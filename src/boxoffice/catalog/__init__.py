"""Catalog: concerts, their schedules and seats."""
