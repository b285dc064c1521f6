"""Accuracy of lazarus on a labelled set of real texts, against two baselines on the same set.

    python -m tools.evaluate [--cases tests/eval/cases.yaml] [--json] [--misses] [--only lazarus]

A case is a real text (a pasted log, a traceback, a symptom in English or Chinese) with the
entry that must rank first, or `expect: null` for a non-PyTorch error that must get no
confident answer. A real PyTorch text that no entry covers yet has `expect: uncovered`: it is
kept in the set as a to-do list for new entries, left out of every figure, and counted.
Prints top-1, top-3, MRR over the PyTorch cases and the abstention rate over the others, for
lazarus and for two baselines:

- wratio: rapidfuzz WRatio between the whole text and each piece of each entry's text (title,
  symptom, each example, cause and fix, tags, both languages), an entry scoring its best piece;
- bm25: Okapi BM25 over the same entry text with the same tokeniser.

Baselines have no notion of confidence, so each gets the score threshold that is best for it on
this very set (maximising the mean of top-1 and abstention): the comparison flatters them.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lazarus.query.index import Index, build_index
from lazarus.query.match import confident
from lazarus.query.normalize import chinese_characters, normalize, tokens
from lazarus.query.pipeline import diagnose
from lazarus.settings import builtin_kb_dir

ROOT = Path(__file__).resolve().parent.parent
TUNING_CASES = ROOT / "tests" / "eval" / "cases.yaml"

Ranker = Callable[[str], list[tuple[str, float]]]


def load_cases(path: Path) -> list[dict[str, Any]]:
    import yaml

    if path.is_dir():
        # The blind held-out set (tests/eval/heldout/): texts as collected, and the expected ids
        # labelled separately, item by item in the same order.
        texts = yaml.safe_load((path / "collected.yaml").read_text(encoding="utf-8"))
        labels = yaml.safe_load((path / "labels.yaml").read_text(encoding="utf-8"))
        # A thread that is also a tuning case was tuned on: it says nothing about unseen texts.
        tuned = {case["source"] for case in yaml.safe_load(TUNING_CASES.read_text(encoding="utf-8"))}
        # Nor is a thread an entry cites: its author may have read it while writing the entry.
        from lazarus.kb.load import load_kb

        cited = {ref.rstrip("/") for e in load_kb([], builtin_kb_dir()).entries for ref in e.references}
        return [
            {**text, "expect": label["expect"], "kb_gap": label.get("kb_gap", False)}
            for text, label in zip(texts, labels, strict=True)
            if text["source"] not in tuned and text["source"].rstrip("/") not in cited
        ]
    cases = yaml.safe_load(path.read_text(encoding="utf-8"))
    if cases and "family" in cases[0]:
        # The failure-frequency sample (tools/frequency/sample.yaml): each report's quoted error
        # line, answered rightly by the entry that covers its family; one with none should get
        # no answer. Reports with no quoted error are summaries, not texts users paste: skipped.
        return [
            {
                "text": c["error"],
                "expect": c.get("covered") or c.get("in_progress"),
                "kind": "error-report",
                "source": c["source"],
            }
            for c in cases
            if c["kind"] == "traceback"
        ]
    for case in cases:
        if "file" in case:
            case["text"] = (path.parent / case["file"]).read_text(encoding="utf-8")
    return cases


def entry_text(entry: Any) -> str:
    parts = [entry.title, entry.title_zh, entry.symptom, entry.symptom_zh, *entry.examples, *entry.causes]
    parts += [*entry.causes_zh, entry.fix, entry.fix_zh, " ".join(entry.tags)]
    return "\n".join(parts)


POSSIBLE = -1.0  # the score lazarus_ranker gives what lazarus shows as possibilities, not answers


def lazarus_ranker(index: Index) -> Ranker:
    def rank(text: str) -> list[tuple[str, float]]:
        matches = diagnose(index, text, limit=10).matches
        # Possibilities (no confident first answer) are not answers: below any threshold.
        return [(m.entry.id, float(m.score) if confident(matches) else POSSIBLE) for m in matches]

    return rank


def wratio_ranker(index: Index) -> Ranker:
    from rapidfuzz import fuzz, process

    # Each piece of entry text on its own (one WRatio over a whole entry would be slow and blur
    # it); an entry scores its best piece.
    pieces = [(e.id, normalize(piece)) for e in index.entries for piece in entry_text(e).splitlines() if piece.strip()]
    texts = [text for _, text in pieces]

    def rank(text: str) -> list[tuple[str, float]]:
        query = normalize(text[-2000:])
        # Only the ten best entries are kept: a cutoff that still leaves ten of them changes no
        # answer and skips most of the work; below it, everything is scored.
        for cutoff in (60.0, 0.0):
            best: dict[str, float] = {}
            found = process.extract(query, texts, scorer=fuzz.WRatio, limit=None, score_cutoff=cutoff)
            for _, score, position in found:
                entry_id = pieces[position][0]
                best[entry_id] = max(best.get(entry_id, 0.0), float(score))
            if len(best) >= 10:
                break
        return sorted(best.items(), key=lambda item: -item[1])[:10]

    return rank


def bm25_ranker(index: Index, k1: float = 1.5, b: float = 0.75) -> Ranker:
    docs = [Counter(tokens(normalize(entry_text(e)))) for e in index.entries]
    ids = [e.id for e in index.entries]
    lengths = [sum(d.values()) for d in docs]
    average = sum(lengths) / max(len(lengths), 1)
    frequency: Counter[str] = Counter()
    for doc in docs:
        frequency.update(doc.keys())
    n = len(docs)
    idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in frequency.items()}

    def rank(text: str) -> list[tuple[str, float]]:
        query = set(tokens(normalize(text[-2000:])))
        scores = []
        for position, doc in enumerate(docs):
            score = 0.0
            for term in query:
                tf = doc.get(term, 0)
                if tf:
                    score += idf[term] * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[position] / average))
            if score > 0:
                scores.append((ids[position], score))
        scores.sort(key=lambda item: -item[1])
        return scores[:10]

    return rank


def accepted(case: dict) -> set[str]:
    """The entry ids that answer a case rightly: `expect` is one id, a list of ids, or null."""
    expect = case.get("expect")
    if not expect:
        return set()
    return set(expect) if isinstance(expect, list) else {expect}


def language(case: dict) -> str:
    if case.get("lang"):
        return str(case["lang"])
    return "zh" if chinese_characters(case["text"]) >= 4 else "en"


def figures(rankings: Sequence[list[tuple[str, float]]], cases: Sequence[dict], threshold: float) -> dict[str, float]:
    positives = [(r, c) for r, c in zip(rankings, cases, strict=True) if accepted(c)]
    negatives = [(r, c) for r, c in zip(rankings, cases, strict=True) if not accepted(c)]
    top1 = top3 = reciprocal = 0.0
    answered = right_first = 0
    for ranking, case in positives:
        kept = [entry for entry, score in ranking if score >= threshold]
        # what a reader sees: the answers, or lazarus's possibilities when it has no answer
        shown = kept or [entry for entry, score in ranking if score == POSSIBLE]
        good = accepted(case)
        if kept[:1] and kept[0] in good:
            top1 += 1
        if good & set(shown[:3]):
            top3 += 1
        ranks = [n for n, entry in enumerate(shown, 1) if entry in good]
        if ranks:
            reciprocal += 1 / ranks[0]
        answered += bool(kept)
        right_first += bool(kept) and kept[0] in good
    abstained = sum(1 for ranking, _ in negatives if not [s for _, s in ranking if s >= threshold])
    answered += len(negatives) - abstained
    return {
        "top1": 100 * top1 / max(len(positives), 1),
        "top3": 100 * top3 / max(len(positives), 1),
        "mrr": reciprocal / max(len(positives), 1),
        "abstention": 100 * abstained / max(len(negatives), 1),
        # Of the first answers given (to any case), the share that is right: a wrong remedy
        # costs a user more than "no confident match".
        "precision": 100 * right_first / max(answered, 1),
        "answered": answered,
        "negatives": len(negatives),
        "threshold": threshold,
    }


def by_kind(rankings: Sequence[list[tuple[str, float]]], cases: Sequence[dict]) -> dict[str, str]:
    """Right answers (top-1, or abstention for texts no entry should answer) per kind, as 'n/total'."""
    totals: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for ranking, case in zip(rankings, cases, strict=True):
        totals[case["kind"]] += 1
        first = [entry for entry, _ in ranking[:1]]
        right[case["kind"]] += bool(first) and first[0] in accepted(case) if accepted(case) else not first
    return {kind: f"{right[kind]}/{totals[kind]}" for kind in sorted(totals)}


def by_group(rankings: Sequence[list[tuple[str, float]]], cases: Sequence[dict]) -> dict[str, dict[str, float]]:
    """top-1, top-3, precision and abstention per kind of text and language (e.g. 'prose/zh')."""
    groups: dict[str, list[int]] = {}
    for n, case in enumerate(cases):
        groups.setdefault(f"{case['kind']}/{language(case)}", []).append(n)
    table = {}
    for name in sorted(groups):
        members = groups[name]
        result = figures([rankings[n] for n in members], [cases[n] for n in members], 0.0)
        result["cases"] = len(members)
        table[name] = result
    return table


SCORE_BANDS = (
    (80, 101, "signature (80-100)"),
    (65, 80, "fuzzy 65-79"),
    (55, 65, "fuzzy 55-64"),
    (0, 55, "fuzzy 45-54"),
    (-2, 0, "possibilities shown, no answer"),
)


def calibration(rankings: Sequence[list[tuple[str, float]]], cases: Sequence[dict]) -> dict[str, str]:
    """How often a first answer in each band of scores is right: what a score means to a user."""
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for ranking, case in zip(rankings, cases, strict=True):
        if not ranking:
            continue
        entry, score = ranking[0]
        band = next(name for low, high, name in SCORE_BANDS if low <= score < high)
        total[band] += 1
        right[band] += entry in accepted(case)
    return {name: f"{right[name]}/{total[name]}" for _, _, name in SCORE_BANDS if total[name]}


def best_threshold(rankings: Sequence[list[tuple[str, float]]], cases: Sequence[dict]) -> float:
    candidates = sorted({score for ranking in rankings for _, score in ranking} | {0.0})
    return max(candidates, key=lambda t: (lambda f: f["top1"] + f["abstention"])(figures(rankings, cases, t)))


RANKERS = ("lazarus", "wratio", "bm25")


def evaluate(cases_path: Path, only: Sequence[str] = RANKERS, misses: list | None = None) -> dict[str, dict]:
    """Figures per ranker; lazarus's wrong or missing answers are appended to `misses`."""
    index = build_index([], builtin_kb_dir())
    every = load_cases(cases_path)
    cases = [c for c in every if c["expect"] != "uncovered"]
    results: dict[str, dict] = {}
    makers = {"lazarus": lazarus_ranker, "wratio": wratio_ranker, "bm25": bm25_ranker}
    for name in only:
        ranker = makers[name](index)
        rankings = [ranker(case["text"]) for case in cases]
        threshold = 0.0 if name == "lazarus" else best_threshold(rankings, cases)
        results[name] = figures(rankings, cases, threshold)
        results[name]["by_kind"] = by_kind(rankings, cases)
        if name == "lazarus":
            results[name]["by_group"] = by_group(rankings, cases)
            results[name]["calibration"] = calibration(rankings, cases)
        if name == "lazarus" and misses is not None:
            for ranking, case in zip(rankings, cases, strict=True):
                got = [entry for entry, score in ranking if score >= 0]
                if (not got or got[0] not in accepted(case)) if accepted(case) else got:
                    misses.append({**case, "got": ranking[:3]})
    results["set"] = {
        "cases": len(cases),
        "pytorch": sum(1 for c in cases if accepted(c)),
        "non_pytorch": sum(1 for c in cases if not accepted(c)),
        "entries": len(index.entries),
        "uncovered": len(every) - len(cases),
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=Path, default=ROOT / "tests" / "eval" / "cases.yaml")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--misses", action="store_true", help="also list every case lazarus gets wrong")
    parser.add_argument("--only", choices=RANKERS, action="append", help="run only these rankers")
    args = parser.parse_args()
    misses: list = []
    results = evaluate(args.cases, args.only or RANKERS, misses)
    if args.json:
        print(json.dumps(results if not args.misses else {**results, "misses": misses}, indent=2, default=str))
        return
    info = results["set"]
    print(
        f"{info['cases']} cases ({info['pytorch']} PyTorch, {info['non_pytorch']} non-PyTorch), "
        f"{info['entries']} entries; {info['uncovered']} uncovered cases skipped"
    )
    print(f"{'ranker':10} {'top-1':>7} {'top-3':>7} {'MRR':>6} {'abstain':>8} {'precision':>10}  threshold")
    for name in args.only or RANKERS:
        f = results[name]
        print(
            f"{name:10} {f['top1']:6.1f}% {f['top3']:6.1f}% {f['mrr']:6.3f} {f['abstention']:7.1f}% "
            f"{f['precision']:9.1f}%  {f['threshold']:.2f}"
        )
    kinds = results[(args.only or RANKERS)[0]]["by_kind"]
    print("right answers by kind: " + ", ".join(f"{kind} {value}" for kind, value in kinds.items()))
    if "lazarus" in results:
        # silent: the share of texts no entry should answer (other ecosystems, project-specific
        # errors) that got no answer, i.e. no misleading remedy.
        print(f"\n{'lazarus by kind/lang':24} {'cases':>5} {'top-1':>7} {'top-3':>7} {'precision':>10} {'silent':>7}")
        for group, g in results["lazarus"]["by_group"].items():
            silent = f"{g['abstention']:6.1f}%" if g["negatives"] else "      -"
            print(f"{group:24} {g['cases']:5} {g['top1']:6.1f}% {g['top3']:6.1f}% {g['precision']:9.1f}% {silent}")
        bands = results["lazarus"]["calibration"]
        print("first answers right, by score: " + ", ".join(f"{band} {value}" for band, value in bands.items()))
    for miss in misses if args.misses else []:
        text = " ".join(miss["text"].split())[:160]
        got = ", ".join(f"{entry} {score:.0f}" for entry, score in miss["got"]) or "no answer"
        print(f"\n[{miss['kind']}] expected {miss['expect'] or 'no answer'}; got {got}\n  {text}\n  {miss['source']}")


if __name__ == "__main__":
    main()
