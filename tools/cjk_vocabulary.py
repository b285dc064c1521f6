"""Write lazarus/query/cjk_words.txt: the Chinese words lazarus segments text into.

    python -m tools.cjk_vocabulary [--min-frequency 1000]      # needs `pip install jieba` (dev only)

Chinese has no spaces. lazarus cuts a run of Chinese characters into the most likely words of
this list (lazarus.query.normalize.segment), so that a question's words meet the entries' words
and pairs of characters across two words ("会卡", "住不") are never taken for words.

The list is the union of
- the common words of jieba's dictionary (MIT licence; 2 to 4 characters, frequency at least
  --min-frequency), with their frequencies: the words of people's questions;
- the words jieba finds in the knowledge base's Chinese text (titles, symptoms, causes, fixes,
  examples), which holds the domain's words the general dictionary lacks or ranks low (显存,
  过拟合, 验证集): each gets at least a domain frequency, so that it wins over a common word
  that overlaps it. Only the dictionary's words (of any frequency) and TERMS are taken from the
  KB: jieba's HMM also guesses at unknown words, and most of its guesses were pairs across two
  words (卡慢 in 单卡慢, 比单 in 比单卡) which, given a domain frequency, cut users' questions
  wrongly; a term of the trade the dictionary lacks is added to TERMS instead.
jieba is needed only to write the list; lazarus reads the list with no dependency.
"""

from __future__ import annotations

import argparse
import math
import re
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "lazarus" / "query" / "cjk_words.txt"
CJK_WORD = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]{2,4}$")
CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
DOMAIN_FREQUENCY = 5000  # about that of a common word: enough to beat an accidental overlap
# Terms of the trade that jieba's dictionary lacks and would cut in two (训练 + 集, 过 + 拟合):
# taught to jieba before it reads the KB, so the KB and the questions cut them alike.
TERMS = """训练集 验证集 测试集 过拟合 欠拟合 学习率 数据集 损失函数 预训练 反向传播 批大小 爆显存
权重衰减 梯度爆炸 梯度消失 混合精度 半精度 单精度 多进程 主进程 子进程 数据增强 激活函数 全连接
卷积层 优化器 调度器 批归一化 随机种子 召回率 精确率 推理速度 前向传播 计算图 显存占用 利用率 占用率
多卡 单卡 不下降 为nan
伪影 光流 点云 池化 池化层 算力 多机 早停 续训 可导 似然 弃用 显式 隐式 全零 主卡 每卡 每轮 二值 分桶
实部 虚部 正类 跑通 锁页 预取 超分 非负 取整 虚高 缺值 噪点 卡数 闭包 调优 重跑 装不上 维数 类名 包名
前向""".split()


def kb_strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node] if CJK_RUN.search(node) else []
    if isinstance(node, dict):
        return [s for value in node.values() for s in kb_strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in kb_strings(value)]
    return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--min-frequency", type=int, default=1000)
    args = parser.parse_args()
    import jieba  # type: ignore[import-not-found]

    dictionary = Path(jieba.__file__).parent / "dict.txt"
    frequency: dict[str, int] = {}
    for line in dictionary.read_text(encoding="utf-8").splitlines():
        word, count, *_ = line.split()
        if CJK_WORD.match(word):
            frequency[word] = int(count)
    words = {w: f for w, f in frequency.items() if f >= args.min_frequency}
    for term in TERMS:
        if CJK_WORD.match(term):
            jieba.add_word(term, freq=DOMAIN_FREQUENCY)
    domain: Counter[str] = Counter(term for term in TERMS if CJK_WORD.match(term))
    for path in sorted((ROOT / "kb").rglob("*.yaml")):
        for text in kb_strings(yaml.safe_load(path.read_text(encoding="utf-8"))):
            for run in CJK_RUN.findall(text):
                domain.update(
                    w for w in jieba.cut(run, HMM=True) if CJK_WORD.match(w) and (w in frequency or w in TERMS)
                )
    for word in domain:
        words[word] = max(words.get(word, 0), frequency.get(word, 0), DOMAIN_FREQUENCY)
    bands: dict[int, list[str]] = {}
    for word, count in sorted(words.items()):
        bands.setdefault(round(math.log10(count) * 10), []).append(word)
    # One line per cost, its words after it: read with a split and dict.fromkeys per line, which
    # keeps a Chinese query's start-up a few milliseconds (a line per word took ten times that).
    lines = [f"{cost} {' '.join(band)}" for cost, band in sorted(bands.items())]
    header = (
        "# Chinese words for lazarus.query.normalize.segment: 10 x log10 of a frequency, then the words\n"
        "# that have it. Written by tools/cjk_vocabulary.py from jieba's dictionary (MIT) and the KB's\n"
        "# words; do not edit. Bump lazarus.query.index.FORMAT when it changes.\n"
    )
    OUTPUT.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(words)} words ({len(domain)} from the KB) -> {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
