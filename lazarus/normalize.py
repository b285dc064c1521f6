"""Masking what differs between users' copies of the same error, and tokenising text for ranking.

Only fuzzy ranking sees normalised text; signatures run on the error as extracted.
"""

from __future__ import annotations

from lazarus.lazyre import LazyPattern, lazy

_RULES: tuple[tuple[LazyPattern, str], ...] = tuple(
    (lazy(pattern), replacement)
    for pattern, replacement in (
        (r"0x[0-9a-fA-F]{4,}", " <addr> "),
        (r"torch\.Size\(\[[^\]]{0,200}\]\)", " <shape> "),
        (r"\[(?:\d+,\s*){1,8}\d+\]", " <shape> "),
        (r"\b\d+(?:\s*[x×]\s*\d+)+\b", " <shape> "),
        (r"(?:[A-Za-z]:)?(?:[\\/][\w.\-~ ]{1,80}){2,}\.\w{1,5}\b", " <path> "),
        (r"(?:[A-Za-z]:)?(?:[\\/][\w.\-~]{1,80}){2,}[\\/]?", " <path> "),
        (r"\b(cuda|xpu|mps):\d+\b", r"\1"),
        (r"\bpids?\(?s?\)?\s*[\d, ]+", " pid "),
        (r"\btorch\.(float32|float|FloatTensor)\b", "float"),
        (r"\btorch\.(float64|double|DoubleTensor)\b", "double"),
        (r"\btorch\.(int64|long|LongTensor)\b", "long"),
        (r"\btorch\.(float16|half|HalfTensor)\b", "half"),
        (r"\btorch\.cuda\.(\w+)Tensor\b", r"cuda \1"),
        (r"\b\d+\.\d+(?:e[-+]?\d+)?\b", " <num> "),
        (r"\b\d{2,}\b", " <num> "),
    )
)
_SPACES = lazy(r"\s+")
_WORD = lazy(r"[a-z][a-z0-9_]*|<[a-z]+>|\d")
_CJK_RUN = lazy(r"[\u3400-\u9fff\uf900-\ufaff]+")

STOPWORDS = frozenset(
    """a an the is are was were be been to of in on at for and or not no with by as it its this that
    from but if then so my i me we you your our have has had do does did can could should would
    will after before when while what why how got get gets getting""".split()
)


def normalize(text: str) -> str:
    """Lower-cased text with addresses, shapes, paths, device indices, pids and numbers masked."""
    out = text
    for pattern, replacement in _RULES:
        out = pattern.sub(replacement, out)
    return _SPACES.sub(" ", out).strip().lower()


def tokens(normalized: str) -> list[str]:
    """Words for Latin script, characters and character pairs for Chinese."""
    found = [w for w in _WORD.findall(normalized) if w not in STOPWORDS]
    for run in _CJK_RUN.findall(normalized):
        found += list(run)
        found += [run[i : i + 2] for i in range(len(run) - 1)]
    return found
