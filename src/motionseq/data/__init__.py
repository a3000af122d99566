"""Datasets, feature pipeline and Lightning data modules."""
