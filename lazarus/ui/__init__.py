"""Everything a person or a program reads: rendering, user-facing strings, JSON."""
