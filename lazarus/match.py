"""Ranking entries for extracted errors: signature hits first, then calibrated fuzzy similarity.

Scores run from 0 to 100. A signature hit scores 80 or more; a fuzzy hit at most 79, so any
signature hit outranks any fuzzy one. Below CONFIDENT nothing is worth showing.
"""

from __future__ import annotations

from lazarus.index import Index
from lazarus.model import ErrorReport, Match
from lazarus.normalize import normalize, tokens

CONFIDENT = 50
MAX_REPORTS = 8
MAX_FUZZY_CHARS = 1200
SIGNATURE_FLOOR = 80
FUZZY_CEILING = 79


def rank(index: Index, reports: list[ErrorReport], limit: int = 3) -> list[Match]:
    """The confident matches for these reports, best first, one per entry."""
    best: dict[int, Match] = {}
    for position, report in enumerate(reports[:MAX_REPORTS]):
        fuzzy = fuzzy_scores(index, report.text)
        for entry_index, pattern in signature_hits(index, report.text):
            bonus = fuzzy.get(entry_index, 0.0) * 0.08
            score = max(SIGNATURE_FLOOR, round(92 + bonus - 2 * position))
            _keep(best, entry_index, Match(index.entries[entry_index], min(score, 100), "signature", report, pattern))
        for entry_index, value in fuzzy.items():
            score = min(FUZZY_CEILING, round(value - 3 * position))
            _keep(best, entry_index, Match(index.entries[entry_index], score, "fuzzy", report))
    ordered = sorted(best.values(), key=lambda m: (-m.score, m.entry.id))
    return [m for m in ordered if m.score >= CONFIDENT][:limit]


def _keep(best: dict[int, Match], entry_index: int, match: Match) -> None:
    current = best.get(entry_index)
    if current is None or match.score > current.score:
        best[entry_index] = match


def signature_hits(index: Index, text: str) -> list[tuple[int, str]]:
    """Entries whose signatures occur in the error text (each entry once, first pattern that hits)."""
    hits: dict[int, str] = {}
    for entry_index, pattern in index.signatures:
        if entry_index not in hits and pattern.search(text):
            hits[entry_index] = pattern.pattern
    return list(hits.items())


def fuzzy_scores(index: Index, text: str) -> dict[int, float]:
    """0-100 per entry: how much of the query's weighted vocabulary the entry covers, blended with
    the best rapidfuzz WRatio against its titles, symptoms, examples and tags."""
    from rapidfuzz import fuzz, process

    query = normalize(text[-MAX_FUZZY_CHARS:])
    words = set(tokens(query))
    if not words:
        return {}
    weights = {w: index.idf.get(w, index.unknown_idf) for w in words}
    total = sum(weights.values())
    choices = [f.text for f in index.fields]
    similarity: dict[int, float] = {}
    for _, score, position in process.extract(
        query, choices, scorer=fuzz.WRatio, limit=None, score_cutoff=40
    ):
        entry_index = index.fields[position].entry
        similarity[entry_index] = max(similarity.get(entry_index, 0.0), score)
    scores: dict[int, float] = {}
    for entry_index, vocab in enumerate(index.vocab):
        covered = sum(weight for word, weight in weights.items() if word in vocab) / total
        value = 100 * (0.6 * covered + 0.4 * similarity.get(entry_index, 0.0) / 100)
        if value > 0:
            scores[entry_index] = value
    return scores
