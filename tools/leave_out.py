"""How well an entry's own descriptions find it when the entry does not contain them.

    python -m tools.leave_out [--list] [--entry ID ...]

The test suite checks that every example ranks its own entry first, but an example is part of its
entry's text, so that check says little about a user's new wording. Here each entry in turn
loses the examples that describe the problem in words (the ones with no `Type: message` in them);
each of those is then ranked against the KB without it. Prints the share that still ranks first
and in the top 3, by language, and with --list the examples that do not, with what wins instead:
the pairs of entries that users' words cannot yet tell apart. Figures only; nothing asserts.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

from lazarus.kb.load import load_kb
from lazarus.query.index import index_of
from lazarus.query.pipeline import diagnose
from lazarus.settings import builtin_kb_dir

ERROR_TEXT = re.compile(r"^\s*[\w.]*(?:Error|Exception|Warning)\b|^\s*(?:Traceback|File \")")
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def described_in_words(example: str) -> bool:
    return not ERROR_TEXT.search(example)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list the examples that do not rank first")
    parser.add_argument("--entry", action="append", help="only these entries (repeatable)")
    args = parser.parse_args()
    loaded = load_kb([], builtin_kb_dir())
    entries = list(loaded.entries)
    totals: Counter[str] = Counter()
    first: Counter[str] = Counter()
    top3: Counter[str] = Counter()
    misses: list[tuple[str, str, list[str]]] = []
    for position, entry in enumerate(entries):
        if args.entry and entry.id not in args.entry:
            continue
        held = [example for example in entry.examples if described_in_words(example)]
        kept = [example for example in entry.examples if not described_in_words(example)]
        if not held:
            continue
        # An entry needs one example; its symptom stands in when all of them are held out.
        variant = entry._replace(examples=tuple(kept) or (entry.symptom,))
        index = index_of([*entries[:position], variant, *entries[position + 1 :]], (), {}, [])
        for example in held:
            language = "zh" if CHINESE.search(example) else "en"
            ranked = [match.entry.id for match in diagnose(index, example).matches]
            totals[language] += 1
            first[language] += ranked[:1] == [entry.id]
            top3[language] += entry.id in ranked[:3]
            if ranked[:1] != [entry.id]:
                misses.append((entry.id, example, ranked[:3]))
    for language in ("en", "zh"):
        n = max(totals[language], 1)
        print(
            f"{language}: {totals[language]} descriptions held out of their entries: "
            f"{100 * first[language] / n:.1f}% rank it first, {100 * top3[language] / n:.1f}% in the top 3"
        )
    n = max(sum(totals.values()), 1)
    print(f"all: {100 * sum(first.values()) / n:.1f}% first, {100 * sum(top3.values()) / n:.1f}% top 3")
    for entry_id, example, ranked in misses if args.list else []:
        print(f"{entry_id}: {example[:90]!r} -> {', '.join(ranked) or 'no answer'}")


if __name__ == "__main__":
    main()
