"""The query pipeline: read -> extract -> normalise -> index -> match. Never imports torch."""
