"""Importers: real inputs (dumps, live clusters, public traces) into underlay data."""
