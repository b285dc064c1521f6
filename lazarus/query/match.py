"""Ranking entries for extracted errors: signature hits first, then calibrated fuzzy similarity.

Scores run from 0 to 100. A signature hit scores 80 or more; a fuzzy hit at most 79, so any
signature hit outranks any fuzzy one. Below CONFIDENT nothing is worth showing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from lazarus.model import Confidence, ErrorReport, Match
from lazarus.query.extract import EXCEPTION_KINDS, names_torch
from lazarus.query.index import BODY, HEADLINE, MESSAGE, Index
from lazarus.query.normalize import CHATTER, DOMAIN_WORDS, MASKS, is_cjk, normalize, tokens
from lazarus.regex.lazy import lazy
from lazarus.regex.store import compiled

CONFIDENT = 45
# A fuzzy answer this far behind the first one is not shown: a reader takes it for a second opinion.
FOLLOW_UP_GAP = 25  # 15 before descriptions were ranked on words alone: their strengths spread 1.5x more
# An error message no signature knows is answered by resemblance only when it is close: on the
# tuning texts most such answers under this score were wrong. A description's fuzzy matches have
# no floor: under LIKELY they are possibilities, and the score hardly tells good possibilities
# from bad ones. On the eleven development sets (2026-12-07) the texts whose first possibility
# scored under 55, hidden until then, had the right entry among the three shown for 24 of the 35
# that have one (69 %; 247 of 359 at 65 or more), while 41 texts with no right entry (of 522) got
# possibilities too: top-3 78.5 -> 80.9 %, top-1 and precision the same. (That floor of 55 dates
# from when such matches were shown as answers.)
ERROR_FUZZY_FLOOR = 65
# A paste that is a substantial part of a message an entry knows (its symptom or an example
# error) reaches that entry as a signature does: at least this long once normalised.
FRAGMENT_CHARS = 24
FRAGMENT_WORDS = 4
FRAGMENT_SHARE = 0.3  # of the message ("Expected more than 1 value per channel" holds 0.4 of torch's)
_CLASS_PREFIX = lazy(r"^[\w.]*(?:error|exception|warning)\w*:\s*")
# Near-verbatim: a slip of a letter or two in a message this long still names it.
NEAR_FRAGMENT_CHARS = 40
NEAR_FRAGMENT_SIMILARITY = 96
NEAR_FRAGMENT_CANDIDATES = 8
NEAR_FRAGMENT_SLIPS = 2  # words of the paste a near-verbatim message may lack (each a slip of one of its own)
MAX_REPORTS = 8
MAX_FUZZY_CHARS = 1200
SIGNATURE_FLOOR = 80
FUZZY_CEILING = 79
# An error message no signature knows must resemble an entry's examples more closely than a
# description must resemble an entry's text: real errors of other tools share many words.
ERROR_FUZZY_HANDICAP = 15
UNKNOWN_PROSE_WEIGHT = 2.0
UNKNOWN_CJK_WEIGHT = 0.3  # most unknown character pairs straddle two words
SECONDARY = 0.5
PROSE_WEIGHT_CAP = 2.0
SIMILARITY_SHARE = 0.4  # of an unknown error's score; word coverage is the rest
CLUE_SHARE = 0.5  # of the words of the code that raised, next to those of the message
CLUE_MARGIN = 0.05  # a clue counts when it points one way by at least this much coverage
WORDING_SHARE = 0.05  # of the closest known wording: only ever breaks a tie
AGREEMENT = 0.2  # of the fuzzy strength a paste's other parts give an entry
PASTED = frozenset({"context", "text"})  # reports that are not one error's own text
# A description is ranked whole, and its first lines that speak of the problem (an issue's title, a
# question) each on their own. A line ranks an entry at half the strength the whole text would: a
# title that fits an entry well still counts, but the whole question, which says more, decides.
# At full strength a short title line often outranked what the whole question was about. On the
# eleven development sets (2026-12-07, pooled): top-1 54.5 -> 54.2 %, top-3 80.9 -> 83.4 %,
# precision 86.0 -> 87.3 %; 0.6 gave 54.6, 82.9, 87.2 and 0.4 53.7, 83.4, 87.1.
PART_SHARE = 0.5
WRAPPER_TAG = "wrapper"  # an entry whose error only reports that an earlier step failed


def rank(
    index: Index, reports: list[ErrorReport], limit: int = 3, fuzzy: bool = True, general: bool = True
) -> list[Match]:
    """The confident matches for these reports, best first, one per entry.

    When any signature hits, only signature matches are answers: a fuzzy neighbour of a known
    error is noise, and skipping fuzzy ranking keeps the common case fast. With `fuzzy` False
    (a text from another framework) only signatures can answer; with `general` False, only an
    entry's own signatures, not its general ones.
    """
    reports = reports[:MAX_REPORTS]
    # A one-line paste is often two reports of the same text (a log line and a description):
    # each distinct text is searched once.
    found_in = {text: signature_hits(index, text, general) for text in dict.fromkeys(report.text for report in reports)}
    # A general signature, written for a whole family of messages, answers only a paste whose
    # errors no entry's own signatures know (the entry that names this very message says more):
    # the same paste's WinError 1455 names the paging file, whatever DLL its next line names.
    known = any(not is_general for hits in found_in.values() for _, _, is_general in hits)
    hits_of = {
        text: [(entry_index, pattern) for entry_index, pattern, is_general in hits if not (known and is_general)]
        for text, hits in found_in.items()
    }
    # Somebody's words are not a message with a slip in it: only a message is looked at that close.
    messages = {report.text for report in reports if report.kind != "text"}
    fragments_of = {text: fragment_hits(index, text, text in messages) for text, hit in hits_of.items() if not hit}
    hits = [hits_of[report.text] for report in reports]
    fragments = [fragments_of.get(report.text, []) for report in reports]
    signatures_hit = any(hits) or any(fragments)
    best: dict[int, Match] = {}
    # What each entry scores over all the paste's parts: a share of it lifts an entry several
    # parts point to, and it breaks what ties remain.
    support: dict[int, float] = {}
    resembling: dict[int, tuple[float, ErrorReport, float]] = {}  # fuzzy: best strength, its report, field match
    errors_seen = 0
    pasted = next((report.text for report in reports if report.kind in PASTED), "")
    whole = next((report.text for report in reports if report.kind == "text"), "")  # extract puts it first
    for report, report_hits, report_fragments in zip(reports, hits, fragments, strict=True):
        if report.kind in PASTED and report_hits:
            # A short paste searched whole, or somebody's words that quote a message: its
            # signature hits count, below those of its errors, and show the line that hit.
            for entry_index, pattern in report_hits:
                found = compiled(pattern).search(report.text)
                shown = report._replace(line=_matching_line(report.text, found))
                shown_coverage = coverage_scores(index, shown.line, as_error=True).get(entry_index, 0.0)
                # A signature that needed several lines of the paste to match saw a message that
                # extraction cut into lines ("Weights only load failed ..." / "... Unsupported
                # operand 10" without its class): as sure as a hit on the error itself.
                spans_lines = found is not None and "\n" in found.group(0)
                strength = (92 if spans_lines else 84) + 8 * shown_coverage
                entry = index.entries[entry_index]
                match = Match(entry, round(strength), "signature", shown, pattern, strength, _taken(found))
                _keep(best, entry_index, match)
            continue
        if report_fragments:
            # A known message quoted in part ("Expected more than 1 value per channel"): as sure
            # as a signature's hit on a paste, ordered by how much of the message it holds.
            for entry_index, share in report_fragments:
                strength = SIGNATURE_FLOOR + 4 + 8 * share
                entry = index.entries[entry_index]
                _keep(best, entry_index, Match(entry, round(strength), "fragment", report, None, strength))
            continue
        if report.kind == "context":
            continue
        is_error = report.kind in EXCEPTION_KINDS
        # Later errors in a log are less likely the one that matters; descriptions are all equal.
        position = errors_seen if is_error else 0
        errors_seen += is_error
        if signatures_hit:
            # Ties between signature hits go to the entry whose words the error shares most.
            coverage = coverage_scores(index, report.text, as_error=is_error) if report_hits else {}
            if len(report_hits) > 1:
                clues = _clues(index, report, report.code or pasted, [hit for hit, _ in report_hits])
                coverage = {entry_index: coverage.get(entry_index, 0.0) + clues[entry_index] for entry_index in clues}
            for entry_index, pattern in report_hits:
                strength = max(SIGNATURE_FLOOR, 92 + 8 * coverage.get(entry_index, 0.0) - 2 * position)
                entry, score = index.entries[entry_index], min(round(strength), 100)
                _keep(
                    best,
                    entry_index,
                    Match(entry, score, "signature", report, pattern, strength, captured(pattern, report.text)),
                )
            continue
        if not fuzzy:
            continue
        handicap = ERROR_FUZZY_HANDICAP if is_error else 0
        share = PART_SHARE if report.kind == "text" and report.text != whole else 1.0
        for entry_index, (value, field_match) in fuzzy_scores(index, report.text, as_error=is_error).items():
            # Fuzzy and signature matches never meet (any signature hit ends fuzzy ranking), so
            # the order may use the whole strength while the score shown stops at the ceiling.
            strength = share * FUZZY_CEILING * max(0.0, value - handicap - 3 * position) / 100
            if entry_index not in resembling:
                resembling[entry_index] = (strength, report, field_match)
            else:
                # the part that says most about the entry ranks it; how nearly the paste's other
                # parts are said by the entry's fields is its weakest
                best_strength, best_report, weakest = resembling[entry_index]
                if strength > best_strength:
                    best_strength, best_report = strength, report
                resembling[entry_index] = (best_strength, best_report, min(weakest, field_match))
            support[entry_index] = support.get(entry_index, 0.0) + strength
    if resembling:
        best.update(_resembling_matches(index, resembling, support, limit))

    def order(item: tuple[int, Match]) -> tuple[bool, float, float, str]:
        entry_index, match = item
        # An error that only says an earlier step failed ("Could not build wheels for X", torchrun's
        # ChildFailedError) comes after any other known error of the same paste: that one says why.
        return (_wraps(match), -round(match.strength, 6), -support.get(entry_index, 0.0), match.entry.id)

    ordered = [match for _, match in sorted(best.items(), key=order)]
    if ordered and not _wraps(ordered[0]):
        # a wrapper behind the error that says why is shown with a score below that error's
        below = ordered[0].score - 1
        ordered = [m._replace(score=min(m.score, below)) if _wraps(m) else m for m in ordered]
    return mark_ambiguity(worth_showing(ordered))[:limit]


def _resembling_matches(
    index: Index, resembling: dict[int, tuple[float, ErrorReport, float]], support: dict[int, float], limit: int
) -> dict[int, Match]:
    """The fuzzy matches worth ordering: a long paste is ranked in parts (the whole, its title,
    its first lines), and an entry that several parts point to gains a share of what the other
    parts gave it. Only the best few become matches: reading an entry costs more than ranking it."""
    strengths: dict[int, float] = {}
    for entry_index, (strength, _, _) in resembling.items():
        others = support[entry_index] - strength
        strengths[entry_index] = strength + AGREEMENT * others if others > 0 else strength
    ids = index.ids
    ranked = sorted(strengths, key=lambda e: (-round(strengths[e], 6), -support[e], ids[e]))
    chances = likelihoods(strengths)
    return {
        entry_index: Match(
            index.entries[entry_index],
            min(round(strengths[entry_index]), FUZZY_CEILING),
            "fuzzy",
            resembling[entry_index][1],
            strength=strengths[entry_index],
            field_match=resembling[entry_index][2],
            likelihood=chances[entry_index],
        )
        for entry_index in ranked[: max(limit, 2)]  # the first two tell whether it is ambiguous
    }


# A fuzzy answer's likelihood (JSON): a softmax over the strengths of every entry the text
# reached and of "no entry", which stands at CONFIDENT (a strength that is not shown), with the
# temperature that best predicts the right entry from a description's candidates (a conditional
# logit on the prose of fourteen development sets, 738 texts). It does not decide what is likely.
# As that rule (likely at 0.9 or more, in place of the margins below) it gained on the development
# sets (pooled top-1 53.4 -> 54.1 %, precision 87.5 -> 87.8 %) but not on the blind fifteenth set:
# top-1 43.8 % either way, precision 81.2 -> 78.0 %, two texts no entry answers given a likely one.
LIKELIHOOD_SPREAD = 4.76  # strength points per e-fold
LIKELIHOOD_NONE = float(CONFIDENT)


def likelihoods(strengths: dict[int, float]) -> dict[int, float]:
    """Each entry's share of a softmax over the strengths of all those the text reached and of "no
    entry". Not a calibrated chance of being right: on the development sets a first fuzzy answer
    at 0.95 or more was right 134 times in 187."""
    if not strengths:
        return {}
    top = max(max(strengths.values()), LIKELIHOOD_NONE)
    weights = {e: math.exp((value - top) / LIKELIHOOD_SPREAD) for e, value in strengths.items()}
    total = sum(weights.values()) + math.exp((LIKELIHOOD_NONE - top) / LIKELIHOOD_SPREAD)
    return {e: weight / total for e, weight in weights.items()}


def _wraps(match: Match) -> bool:
    return match.via != "fuzzy" and WRAPPER_TAG in match.entry.tags


LIKELY = 75  # a fuzzy first answer under this score is a possibility (see description_scores)
# A fuzzy first answer less than MARGIN points ahead of the next on the score shown (and less
# than STRENGTH_MARGIN on the uncapped strength, which tells apart answers the score's ceiling
# shows as equal) is one of several that fit about as well. On the first held-out set such first
# answers were right 9 times in 31 (the others 13 in 18), so a reader gets them as possibilities,
# not as the answer (tools/evaluate.py: precision 69.9 % -> 85.9 % there, top-1 75.0 % -> 63.5 %).
# STRENGTH_MARGIN was 10 before descriptions were ranked on words alone; their strengths spread more.
MARGIN = 8
STRENGTH_MARGIN = 15
# A fuzzy first answer is likely only when, for every part of the paste that reaches the entry,
# one of its fields (a title, an example) says much of what that part says: a long post whose
# words are spread over an entry's fields got a wrong first answer more often than a right one.
# On the four development sets (tools/evaluate.py, the first four held-out sets): mean precision
# 78.1 -> 83.3 %, top-1 55.9 -> 52.3 %; the answers it turns into possibilities were right 4
# times in 10, and top-3 is the same (possibilities are shown). At 0.2: 80.9 % and 53.9 %; at
# 0.4: 85.0 % and 48.3 %. 0.35 was tried on seven development sets (mean precision 85.5 -> 87.3 %,
# top-1 54.9 -> 54.0 %) and did not carry over to the eighth set, measured blind: top-1 43.0 ->
# 38.3 %, precision 75.4 -> 74.5 % (the likely answers it took away were right 6 times in 7).
FIELD_MATCH_LIKELY = 0.3


def mark_ambiguity(shown: list[Match]) -> list[Match]:
    """Mark the fuzzy answers that are possibilities: all of them when the first is not clearly
    ahead of the second, else those after the first. How often a likely answer is right was
    measured on first answers only; one shown below a likely answer is at best another possibility
    (three answers to one question were all labelled likely before)."""
    if len(shown) < 2 or shown[0].via != "fuzzy":
        return shown
    first, second = shown[0], shown[1]
    clear = first.score - second.score >= MARGIN or first.strength - second.strength >= STRENGTH_MARGIN
    return [
        m._replace(ambiguous=True) if m.via == "fuzzy" and (rank > 0 or not clear) else m
        for rank, m in enumerate(shown)
    ]


def confidence(match: Match) -> Confidence:
    """What a score means to a reader: a known message, a likely answer or a possible one."""
    if match.ambiguous:
        return "possible"
    if match.via != "fuzzy":
        return "known"
    likely = match.score >= LIKELY and match.field_match >= FIELD_MATCH_LIKELY
    return "likely" if likely and not match.ambiguous else "possible"


def confident(matches: Sequence[Match]) -> bool:
    """Whether the first answer is one a reader can act on (known or likely), not a possibility."""
    return bool(matches) and confidence(matches[0]) != "possible"


def worth_showing(ordered: list[Match]) -> list[Match]:
    """The matches worth a reader's time: every signature or fragment hit; a fuzzy one for an
    error message only at ERROR_FUZZY_FLOOR or more; and, after the first, a fuzzy one only within
    FOLLOW_UP_GAP of it."""
    if not ordered:
        return []
    if ordered[0].via != "fuzzy":
        return [m for m in ordered if m.via != "fuzzy"]

    def too_weak(match: Match) -> bool:
        is_error = match.report is not None and match.report.kind in EXCEPTION_KINDS
        return is_error and match.score < ERROR_FUZZY_FLOOR

    kept = [m for m in ordered if not too_weak(m)]
    return [m for m in kept if m.strength >= kept[0].strength - FOLLOW_UP_GAP] if kept else []


def _slips_only(query: str, field: str) -> bool:
    """Whether every word of the paste that the message lacks is a slip of one of its words
    ("todeserialize" for "deserialize"), not another name ("No module named 'cv2'" is not the
    message about 'torch')."""
    from rapidfuzz import fuzz

    known = set(tokens(field))
    for word in set(tokens(query)) - known:
        if not any(len(k) >= 4 and (k in word or fuzz.ratio(word, k) >= 80) for k in known):
            return False
    return True


def fragment_hits(index: Index, text: str, near: bool = True) -> list[tuple[int, float]]:
    """Entries one of whose known messages (symptoms, example errors) holds the whole paste, once
    both are normalised, with the share of that message the paste holds; [] for a paste too short
    to say anything. A paste with a slip in it ("Attempting todeserialize object ...") still
    counts when it is a near-verbatim part of a message of the entries whose words it shares
    (unless `near` is False: a description is not looked at that close)."""
    query = normalize(text).strip(" .:;,!?'\"`")
    if len(query) < FRAGMENT_CHARS or len(tokens(query)) < FRAGMENT_WORDS or "\n" in text.strip():
        return []
    starts, is_message = index.field_start, index.field_is_message
    found: dict[int, float] = {}
    for entry_index in _holders(index, query):
        texts = index.field_text  # read only when some entry's messages hold the paste's words
        for position in range(starts[entry_index], starts[entry_index + 1]):
            field = texts[position]
            if not is_message[position] or query not in field:
                continue
            # The paste is where the message begins (after its class, if the paste lacks it), and
            # a substantial part of it: an example whose message follows the code that raised it
            # (`glob(...)[0]` then `IndexError: list index out of range`) is about that code, and
            # a generic phrase at the head of a long symptom is not that symptom.
            prefix = _CLASS_PREFIX.match(field)
            share = len(query) / len(field)
            if field.find(query) in (0, prefix.end() if prefix else 0) and share >= FRAGMENT_SHARE:
                found[entry_index] = max(found.get(entry_index, 0.0), share)
    if not found and near and len(query) >= NEAR_FRAGMENT_CHARS:
        coverage = coverage_scores(index, text, as_error=True)
        texts, field_words = index.field_text, index.field_words
        words = set(tokens(query))
        for entry_index in sorted(coverage, key=lambda e: -coverage[e])[:NEAR_FRAGMENT_CANDIDATES]:
            for position in range(starts[entry_index], starts[entry_index + 1]):
                field = texts[position]
                # The paste must be the shorter: a message inside a longer paste is the signatures' job.
                if not is_message[position] or len(field) < len(query):
                    continue
                # A near-verbatim paste lacks a word or two of the message at most: most fields are
                # ruled out by their words, before the costlier comparisons (and rapidfuzz's import).
                if len(words.difference(field_words[position].split())) > NEAR_FRAGMENT_SLIPS:
                    continue
                from rapidfuzz import fuzz

                close = fuzz.partial_ratio(query, field, score_cutoff=NEAR_FRAGMENT_SIMILARITY)
                if close and _slips_only(query, field):
                    found[entry_index] = max(found.get(entry_index, 0.0), len(query) / len(field))
    return sorted(found.items(), key=lambda item: -item[1])


def _holders(index: Index, query: str) -> list[int]:
    """The entries whose messages could hold this paste: each of its inner words (the first and
    last may be cut in the middle) is a word of one of their messages. Chinese words are left out:
    where a run of characters is cut depends on the characters around it."""
    inner = [w for w in tokens(query)[1:-1] if not is_cjk(w)]
    if not inner:
        return list(range(len(index.field_start) - 1))
    holders: set[int] | None = None
    for word in inner:
        number = index.words.get(word)
        if number is None:
            return []
        posted = set(index.posted(number, MESSAGE))
        holders = posted if holders is None else holders & posted
        if not holders:
            return []
    return sorted(holders or ())


def _clues(index: Index, report: ErrorReport, clue: str, hits: list[int]) -> dict[int, float]:
    """One message, several entries whose signatures hit it: the code that raised it says which,
    or else what the rest of the paste says ("it comes from the BCE loss"); last, the entry that
    knows this very wording of the message."""
    from rapidfuzz import fuzz

    # What the clue says besides the message itself (a paste holds the message too)
    weights = query_words(index, clue, as_error=False) if clue else {}
    for word in query_words(index, report.text, as_error=True):
        weights.pop(word, None)
    told = coverage_scores(index, clue, weights=weights) if weights else {}
    shares = [told.get(entry_index, 0.0) for entry_index in hits]
    if max(shares) - min(shares) < CLUE_MARGIN:
        told = {}  # words every one of them shares ("training", "file") say nothing
    message = normalize(report.text[-MAX_FUZZY_CHARS:])
    starts, texts, is_message = index.field_start, index.field_text, index.field_is_message
    result = {}
    for entry_index in hits:
        fields = range(starts[entry_index], starts[entry_index + 1])
        closest = max((fuzz.ratio(message, texts[f]) for f in fields if is_message[f]), default=0.0)
        result[entry_index] = CLUE_SHARE * told.get(entry_index, 0.0) + WORDING_SHARE * closest / 100
    return result


# Names and calls only another framework has (caffe2 is part of torch; tf.* and Keras's
# ResourceExhaustedError and set_floatx are TensorFlow's own; Caffe's solver logs its glog lines
# from solver.cpp and sgd_solver.cpp without ever naming caffe; Keras's fit() prints its progress
# bar as "10954/10954 [======] - 659s", or without the bar at verbose=2, after "Train on 72000
# samples"; ncnn, RKNN and MNN run a converted model, not torch).
_OTHER_FRAMEWORKS = lazy(
    r"\b(?:tensorflow|tensorflow-gpu|jax|jaxlib|keras|tf\.keras|paddle|paddlepaddle|mxnet|mindspore|theano|caffe"
    r"|chainer|darknet|resourceexhaustederror|set_floatx)\b|(?<![a-z0-9_])(?:ncnn|rknn|rknn_toolkit2?|mnn)(?![a-z0-9_])"
    r"|(?<![\w.])tf\.(?:compat|cast|config|data|function|nn|train)\b"
    r"|\b(?:sgd_|adam_)?solver\.cpp:\d+\]|\d+/\d+ (?:\[=*[>.]*\] )?- (?:eta: )?\d+m?s\b|\btrain on \d+ samples\b"
)


def other_framework(text: str) -> bool:
    """A text that names another deep-learning framework and never torch: its CUDA, memory and
    shape troubles resemble ours in words, but our remedies do not apply."""
    return not names_torch(text) and _OTHER_FRAMEWORKS.search(text.lower()) is not None


def _matching_line(text: str, found: re.Match[str] | None) -> str:
    """The line (or lines) of the text a signature's match lies on."""
    if found is None:
        return text.splitlines()[-1][:300] if text else ""
    start = text.rfind("\n", 0, found.start()) + 1
    end = text.find("\n", found.end())
    return text[start : end if end >= 0 else len(text)][:300]


def _keep(best: dict[int, Match], entry_index: int, match: Match) -> None:
    current = best.get(entry_index)
    if current is None or match.strength > current.strength:
        best[entry_index] = match


def captured(pattern: str, text: str) -> tuple[tuple[str, str], ...]:
    """What a signature's named groups took from the user's error: their own sizes, names, values."""
    found = compiled(pattern).search(text) if "(?P<" in pattern else None
    return _taken(found)


def _taken(found: re.Match[str] | None) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in found.groupdict().items() if v is not None) if found else ()


def signature_hits(index: Index, text: str, general: bool = True) -> list[tuple[int, str, bool]]:
    """Entries whose signatures occur in the error text (each entry once, first pattern that hits:
    its own signatures come before its general ones), with whether that pattern is general.
    General signatures are searched only when `general` allows it; `rank` decides whether a
    general hit counts."""
    hits: dict[int, tuple[str, bool]] = {}
    lowered = text.lower()
    for entry_index, pattern, literal, folded, is_general in zip(*index.signatures, strict=True):
        if entry_index in hits or (is_general and not general):
            continue
        if literal and literal not in (lowered if folded else text):
            continue
        if compiled(pattern).search(text):  # compiled once per process, and kept between runs
            hits[entry_index] = (pattern, bool(is_general))
    return [(entry_index, pattern, is_general) for entry_index, (pattern, is_general) in hits.items()]


def query_words(index: Index, text: str, as_error: bool) -> dict[str, float]:
    """The query's words with their weights (idf; words no entry uses get their own weight)."""
    words = set(tokens(normalize(text[-MAX_FUZZY_CHARS:])))
    if as_error:
        # The exception's class (KeyError, RuntimeError) says little: every library raises them;
        # nor do the digits of an error message: they are sizes and indices.
        words.discard(normalize(text.split(":", 1)[0]))
        words = {w for w in words if not w.isdigit()}
    # In an error message, words no entry uses are the best sign that it comes from another
    # tool: they weigh most. In a description they are mostly chatter ("hello author, why did
    # ..."): the commonest chatter is dropped, the rest weighs little, but a text made of
    # nothing else is still not ours.
    known = index.words
    if as_error:
        return {w: index.idf[known[w]] if w in known else index.unknown_idf for w in words}
    # Nor do a description's digits: sizes and counts ("batchsize 8", "大小640"), nor what
    # normalising made of numbers, shapes and paths ("after 200000 iterations" is not "loss 0").
    words = {w for w in words - CHATTER - MASKS if not w.isdigit()}
    # A slip of one letter in a word of the trade ("memery", "accuarcy") is that word.
    words = {w if w in known else slip_of(w) or w for w in words}
    # A rare word weighs more, but only so much: one rare word of a description, such as a pair
    # of Chinese characters, must not outweigh all the others.
    unknown = {w: UNKNOWN_CJK_WEIGHT if is_cjk(w) else UNKNOWN_PROSE_WEIGHT for w in words if w not in known}
    for w in words:
        # A lone character says little (为, 集); nor does a word only the long causes and fixes use.
        if is_cjk(w) and (len(w) == 1 or (w in known and not index.in_headlines(known[w]))):
            unknown[w] = UNKNOWN_CJK_WEIGHT
    return {w: unknown[w] if w in unknown else min(index.idf[known[w]], PROSE_WEIGHT_CAP) for w in words}


SLIP_MIN_LETTERS = 5  # shorter words are too often other words one letter away ("mask", "task")


def slip_of(word: str) -> str | None:
    """The one word of deep learning that `word` is a slip of (a letter replaced, added, dropped,
    or two swapped, never the first), or None: a description's typos name what it is about."""
    if len(word) < SLIP_MIN_LETTERS or not word.isascii() or not word.isalpha():
        return None
    found = {known for known in DOMAIN_WORDS if known[0] == word[0] and one_slip_apart(word, known)}
    return found.pop() if len(found) == 1 else None


def one_slip_apart(a: str, b: str) -> bool:
    """Whether two different words differ by one edit: a letter replaced, added or dropped, or two
    neighbouring letters swapped. rapidfuzz's OSA.distance(a, b) == 1 says the same, but importing
    rapidfuzz costs a description's query about 39 ms, and that path never imports it otherwise."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        differ = [n for n in range(len(a)) if a[n] != b[n]]
        if len(differ) == 1:
            return True
        first, second = differ[0], differ[-1]
        return len(differ) == 2 and second == first + 1 and a[first] == b[second] and a[second] == b[first]
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    n = next((n for n in range(len(shorter)) if shorter[n] != longer[n]), len(shorter))
    return shorter[n:] == longer[n + 1 :]


def coverage_scores(
    index: Index, text: str, as_error: bool = False, weights: dict[str, float] | None = None
) -> dict[int, float]:
    """0-1 per entry: the share of the query's weighted words that the entry uses."""
    if weights is None:
        weights = query_words(index, text, as_error)
    total = sum(weights.values())
    if not total:
        return {}
    covered: dict[int, float] = {}
    # An error is compared with what errors look like. A description counts fully the words of
    # what an entry is about (titles, symptoms, examples, tags) and half those of its causes and
    # fix, which every entry shares ("loss", "training", "model").
    layers = ((MESSAGE, 1.0),) if as_error else ((MESSAGE, 1.0), (HEADLINE, 1.0), (BODY, SECONDARY))
    for word, weight in weights.items():
        number = index.words.get(word)
        if number is None:
            continue
        for layer, share in layers:
            gain = weight * share
            for entry_index in index.posted(number, layer):
                covered[entry_index] = covered.get(entry_index, 0.0) + gain
    damping = _damping(weights)
    return {entry_index: value / total * damping for entry_index, value in covered.items()}


def _damping(weights: dict[str, float]) -> float:
    return min(1.0, len(weights) / 3)  # one or two words covered prove little


RECALL_MIN_WEIGHT = 3.0
# Only the entries whose words cover most of a description are compared by similarity: the
# costly part of a prose query. At 40 (of 318) the development sets' figures are those of 150 or
# better (25 and 60 give the same), and a description's diagnose takes a third of the time.
MAX_CANDIDATES = 40


def field_evidence(
    index: Index, query: dict[str, float], candidates: list[int], messages_only: bool = False
) -> tuple[dict[int, float], dict[int, float]]:
    """Two 0-1 figures per entry, from one pass over its fields (a title, an example):

    - recall: the largest share of one field's weighted words that the description contains. A
      long question that holds all the words of one of an entry's examples ("loss is nan") is
      about that entry, however much else it says;
    - match: how nearly one field says what the description says, no more and no less (the
      harmonic mean of that share and of the share of the description's weight the field holds).
    """
    known, idf = index.words, index.idf
    starts, field_words, field_weight = index.field_start, index.field_words, index.field_weight
    is_message = index.field_is_message
    total = sum(query.values())
    # The query's words that entries use, with their numbers: a field's other words cover nothing.
    numbers = {w: known[w] for w in query if w in known}
    recall: dict[int, float] = {}
    match: dict[int, float] = {}
    if not total:
        return recall, match
    # A field is its distinct words joined by spaces (index: dict.fromkeys): looking for the
    # query's few " word " in it is faster than splitting every field of every candidate (the
    # costly part of a description).
    spaced = [(f" {w} ", idf[n], query[w]) for w, n in numbers.items()]
    for entry_index in candidates:
        best_recall = best_match = 0.0
        for position in range(starts[entry_index], starts[entry_index + 1]):
            field_total = field_weight[position]
            if field_total < RECALL_MIN_WEIGHT or (messages_only and not is_message[position]):
                continue  # one or two words prove little
            field = f" {field_words[position]} "
            covered = held = 0.0
            for word, weight, asked in spaced:
                if word in field:
                    covered += weight
                    held += asked
            best_recall = max(best_recall, covered / field_total)
            if covered:
                held /= total
                share = covered / field_total
                best_match = max(best_match, 2 * held * share / (held + share))
        if best_recall:
            recall[entry_index] = best_recall
        if best_match:
            match[entry_index] = best_match
    return recall, match


def fuzzy_scores(index: Index, text: str, as_error: bool = False) -> dict[int, tuple[float, float]]:
    """Per entry, how well it fits the text (0-100 or a little more) and how nearly one of its
    fields says what the text says (0-1).

    An error message no signature knows is compared only with what errors look like (symptoms
    and examples), so that words shared with prose do not pass for a match: word coverage blended
    with how nearly one of those messages says what the error says. A description is compared
    with everything an entry says (`description_scores`).
    """
    if not as_error:
        return description_scores(index, text)
    weights = query_words(index, text, as_error)
    coverage = coverage_scores(index, text, as_error, weights)
    if not coverage:
        return {}
    share = SIMILARITY_SHARE
    needed = (100 * (CONFIDENT - 0.5) / FUZZY_CEILING + ERROR_FUZZY_HANDICAP - 100 * share) / (100 * (1 - share))
    candidates = _best_covered(coverage, needed)
    _, matched = field_evidence(index, weights, candidates, messages_only=True)
    return {
        entry_index: (
            100 * ((1 - share) * coverage[entry_index] + share * matched.get(entry_index, 0.0)),
            matched.get(entry_index, 0.0),
        )
        for entry_index in candidates
    }


def _best_covered(coverage: dict[int, float], needed: float) -> list[int]:
    """The entries covered enough to reach a shown score, at most MAX_CANDIDATES of the best: only
    they are looked at closer, the costly part of a fuzzy query."""
    candidates = [entry_index for entry_index, value in coverage.items() if value >= needed]
    if len(candidates) > MAX_CANDIDATES:
        # Ties at the cut go to the earlier entry, and sums of the same words taken in another
        # order (a set's order changes from run to run) must tie: the same text, the same answer.
        candidates = sorted(candidates, key=lambda entry_index: (-round(coverage[entry_index], 9), entry_index))
        candidates = candidates[:MAX_CANDIDATES]
    return candidates


# A description's fit is a weighted sum of four 0-1 figures. The weights' ratios were fitted (a
# conditional logit: the right entry against the others a description's words reach) on the prose
# of the tuning set and the three development sets, and hold when fitted on any three of them and
# tried on the fourth (right first among the candidates: 77/90 against 71 for the earlier blend
# with rapidfuzz's WRatio, 32/38 against 29, 27/44 against 25, 28/44 against 26). Character
# similarity added nothing there, so a description is ranked on words alone and rapidfuzz is not
# even imported. Their scale (1.5x the fitted) and LIKELY, STRENGTH_MARGIN were chosen on those
# four sets with tools/evaluate.py: mean top-1 of the three development sets 59.5 -> 61.0 %,
# precision 75.4 -> 74.5 %, tuning set top-1 82.5 -> 86.9 %.
COVERAGE_WEIGHT = 68.0  # the description's weighted words the entry uses anywhere
RECALL_WEIGHT = 17.0  # the best share of one field's words the description holds
TITLE_WEIGHT = 63.0  # the description's weighted words in the entry's titles: what it is about
FIELD_MATCH_WEIGHT = 78.0  # one field that says what the description says, both ways


def description_scores(index: Index, text: str) -> dict[int, tuple[float, float]]:
    weights = query_words(index, text, as_error=False)
    coverage = coverage_scores(index, text, False, weights)
    if not coverage:
        return {}
    # Title coverage is at most word coverage, recall and field match at most 1: an entry whose
    # words cover too little to reach a shown score however its fields read is not looked at.
    reach = 100 * (CONFIDENT - 0.5) / FUZZY_CEILING - RECALL_WEIGHT - FIELD_MATCH_WEIGHT
    needed = reach / (COVERAGE_WEIGHT + TITLE_WEIGHT)
    candidates = _best_covered(coverage, needed)
    recalled, matched = field_evidence(index, weights, candidates)
    titled = title_coverage(index, weights, candidates)
    return {
        entry_index: (
            COVERAGE_WEIGHT * coverage[entry_index]
            + RECALL_WEIGHT * recalled.get(entry_index, 0.0)
            + TITLE_WEIGHT * titled.get(entry_index, 0.0)
            + FIELD_MATCH_WEIGHT * matched.get(entry_index, 0.0),
            matched.get(entry_index, 0.0),
        )
        for entry_index in candidates
    }


def title_coverage(index: Index, weights: dict[str, float], candidates: list[int]) -> dict[int, float]:
    """0-1 per entry: the share of the description's weighted words found in the entry's titles,
    which say what the entry is about; its examples and causes also say what it is not."""
    total = sum(weights.values())
    if not total:
        return {}
    starts, field_words = index.field_start, index.field_words
    damping = _damping(weights)
    result: dict[int, float] = {}
    for entry_index in candidates:
        first = starts[entry_index]  # an entry's fields begin with its titles (index.FUZZY_FIELDS)
        title = {*field_words[first].split(), *field_words[first + 1].split()}
        result[entry_index] = sum(weight for word, weight in weights.items() if word in title) / total * damping
    return result
