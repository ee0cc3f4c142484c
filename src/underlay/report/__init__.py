"""Writers of results: terminal tables, JSON."""
