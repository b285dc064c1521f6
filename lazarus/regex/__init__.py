"""Regular expressions: compiled lazily (start-up cost), and checked before a KB pattern is trusted."""
