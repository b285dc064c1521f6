"""Masking what differs between users' copies of the same error, and tokenising text for ranking.

Only fuzzy ranking sees normalised text; signatures run on the error as extracted.
"""

from __future__ import annotations

import unicodedata

from lazarus.regex.lazy import LazyPattern, lazy

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
        (r"(?i)\b(gpu|cuda|rank|card)(\d{1,2})\b", r"\1 \2"),
        (r"(?i)\b(?:graphics |video )?cards?\b", "gpu"),  # "card 0", "main card": a GPU
        # One spelling for names users write several ways (next to Chinese, where \b fails).
        (r"(?i)(?<![a-z0-9_])data[ _-]?loaders?(?![a-z0-9_])", " dataloader "),
        (r"(?i)(?<![a-z0-9_])(train|val|valid|test|eval)[ _-]?loaders?(?![a-z0-9_])", r" \1 dataloader "),
        (r"(?i)(?<![a-z0-9_])num[ _-]?work(?:er|s|ers)(?![a-z0-9_])", " num_workers "),
        (r"(?i)(?<![a-z0-9_])state[ _-]?dicts?(?![a-z0-9_])", " state_dict "),
        (r"(?i)(?<![a-z0-9_])zero[ _-]?grad(?![a-z0-9_])", " zero_grad "),
        (r"(?i)(?<![a-z0-9_])batch[ _-]?size(?![a-z0-9_])", " batch_size "),
        (r"(?i)(?<![a-z0-9_])fine[ _-]tun(?:e|es|ed|ing)(?![a-z0-9_])", " finetune "),
        (r"(?i)(?<![a-z0-9_])gpu[ _-]?util(?:isation|ization)?(?![a-z0-9_])", " gpu utilization "),
        (r"(?i)(?<![a-z0-9_])(?:mem|memories)(?![a-z0-9_])", " memory "),  # "GPU mem doubles"
        # "OOM" is out of memory, the words the entries and the messages use ("GPU OOM", "报OOM")
        (r"(?i)(?<![a-z0-9_])oom(?![a-z0-9_])", " out of memory "),
        # "acc" is how logs and questions write accuracy ("test ACC", val_acc)
        (r"(?i)(?<![a-z0-9])(?:(train|val|valid|test|eval)_)?acc(?![a-z0-9_])", r" \1 accuracy "),
        # ... and a loss by its split's name (train_loss, val_loss) is that split's loss
        (r"(?i)(?<![a-z0-9])(train|training|val|valid|validation|test|eval)[ _-]?loss(?![a-z0-9_])", r" \1 loss "),
        # A GAN's two losses and networks as training scripts print them (loss_D, D_loss, errG,
        # netD): the words the entries use, which a one-letter name never reaches.
        (r"(?i)(?<![a-z0-9])(?:loss[ _-]?d|d[ _-]loss|errd)(?![a-z0-9])", " discriminator loss "),
        (r"(?i)(?<![a-z0-9])(?:loss[ _-]?g|g[ _-]loss|errg)(?![a-z0-9])", " generator loss "),
        (r"(?<![A-Za-z0-9])net_?D(?![A-Za-z0-9])", " discriminator "),
        (r"(?<![A-Za-z0-9])net_?G(?![A-Za-z0-9])", " generator "),
        (r"(?i)\bcan['’]?t\b", "cannot"),  # not "ca not"
        (r"(?i)\bwon['’]t\b", "will not"),
        (r"(?i)(?<=[a-z])n['’]t\b", " not"),
        (r"(?<=[a-z])['’](?:s|re|ve|ll|m|d)\b", ""),
        (r"\bpids?\(?s?\)?\s*[\d, ]+", " pid "),
        (r"\btorch\.(float32|float|FloatTensor)\b", "float"),
        (r"\btorch\.(float64|double|DoubleTensor)\b", "double"),
        (r"\btorch\.(int64|long|LongTensor)\b", "long"),
        (r"\btorch\.(float16|half|HalfTensor)\b", "half"),
        (r"\btorch\.cuda\.(\w+)Tensor\b", r"cuda \1"),
        # English words for the same change, written one way ("goes up", "rises", "climbs" are
        # "increase"), as entries and questions word it differently.
        (
            r"(?i)\b(?:go(?:es|ing)?|went|gone|shoots?|shot|jumps?|jumped) up\b"
            r"|\b(?:ris(?:es|ing|en)|rose|climb(?:s|ed|ing)?|increas(?:es|ed|ing))\b",
            "increase",
        ),
        (
            r"(?i)\b(?:go(?:es|ing)?|went|gone) down\b"
            r"|\b(?:fall(?:s|ing|en)?|fell|drop(?:s|ped|ping)|decreas(?:es|ed|ing)|declin(?:es|ed|ing))\b",
            "decrease",
        ),
        # Time that grows is speed that falls: "epoch time increases", "takes longer" is "slower".
        (r"(?i)\b(?:times?|durations?)(?: per \w+)? (?:is |are |keeps? |kept )?increase\b", "slower"),
        (r"(?i)\b(?:takes?|taking|took) (?:much |a lot |way |far )?longer\b", "slower"),
        # A value that is or becomes 0 is "zero", the word entries use ("loss is always 0", "drops
        # to 0", "loss=0.000"): a lone digit says nothing, and 0.000 would become any number.
        (
            r"(?i)\b(is|are|was|were|be|been|becomes?|became|becoming|reach(?:es|ed|ing)?|stays?|stayed"
            r"|remains?|remained|stuck at|equals?|always|to|loss(?:es)?)[\"']?\s*(?:[=:]\s*)?"
            r"(?:(?:always|exactly|nearly|almost|all|just|only|to) )?(?:0(?:\.0+)?|zero)(?![\d.%])",
            r"\1 zero",
        ),
        # ... and a change that does not happen is another thing ("loss does not decrease" is
        # not "loss decreases"): one word for it.
        (r"(?i)\b(?:not|never|no longer|hardly|barely)\s+(?:even\s+)?(increase|decrease)\b", r"no\1"),
        # Chinese words for the same change, written one way: memory 增加 / 上涨 is 增长.
        # "不降反增": it does not fall, it rises
        ("增加|上涨|上升|升高|暴涨|飙升|不降反(?:增|升|涨)|不减反(?:增|升)", "增长"),
        ("降低|减少|减小", "下降"),
        ("持续|不断|逐渐|越来越|一直在", "一直"),  # how it changes: all the time
        # ... and for the same symptom: what users write, the way the entries say it.
        ("(?:(?:不会|无法|没有|没|不能|很难|难以)收敛|收敛不了|不收敛|不怎么下降|降不下去|下不去)", "不下降"),
        ("波动|抖动|跳动|来回跳|跳来跳去|忽高忽低|上下跳", "震荡"),
        ("卡死|卡在|不动了|没有反应|没反应|没有动静|没动静|停住|(?i:hang)\\s*住", "卡住"),
        # The GPU's memory, however it is named ("显卡内存", "GPU 内存", "显卡的内存"), is 显存,
        # not the host's 内存: the entries for the two are different.
        (r"(?i)(?:显卡|gpu|cuda)\s*(?:的)?\s*内存", "显存"),
        ("泄露", "泄漏"),
        # Training taken up again from a checkpoint, however it is said, is 续训.
        ("断点续训|(?:断点|继续|接着|恢复|重新加载断点)训练|接着训|继续训(?!练)", "续训"),
        ("爆显存|显存(?:不够用?|溢出|爆炸|爆了|爆掉|炸了|被?撑爆)", "显存不足"),
        (r"(?i)(gpu|显卡)\s*(?:的)?\s*(?:使用率|占用率)", r"\1利用率"),
        ("黑屏|全是黑色|一片黑|都是黑的", "全黑"),
        # "4卡", "双卡", "8张卡": several GPUs, as the entries say it (多卡); not 卡住 (stuck).
        (r"(?<![\d一单])(?:[2-9]|[1-9]\d|双|两|四|八|多)\s*张?\s*卡(?![住死在顿])", "多卡"),
        (r"(?:一直|始终|全|都|总)(?:为|是|等于)\s*0(?![.\d])", "为0"),
        (r"(?:一直|始终|全|都)(?:为|是)\s*nan", "为nan"),
        # A loss at ln 2 (0.693) is a symptom with a name, the loss of a model that outputs the same
        # probability for every input of two classes, not any number: it keeps a word.
        (r"(?<![\d.])0\.693\d*(?![\d.])", " ln2 "),
        (r"\b\d+\.\d+(?:e[-+]?\d+)?\b", " <num> "),
        (r"\b\d{2,}\b", " <num> "),
    )
)
# The stand-ins the rules put for numbers, shapes, paths and addresses: not somebody's words.
MASKS = frozenset(replacement.strip() for _, replacement in _RULES if replacement.strip().startswith("<"))
_SPACES = lazy(r"\s+")
_WORD = lazy(r"[a-z][a-z0-9_]*|<[a-z]+>|\d")
_CJK = r"[\u3400-\u9fff\uf900-\ufaff]"  # CJK ideographs (is_cjk() tests the same lower bound)
_CJK_RUN = lazy(_CJK + "+")
_CJK_CHAR = lazy(_CJK)
_CJK_PARTICLES = lazy(r"[的了吗呢吧啊呀]+")

STOPWORDS = frozenset(
    """a an the is are was were be been to of in on at for and or not no with by as it its this that
    from but if then so my i me we you your our have has had do does did can could should would
    will after before when while what why how got get gets getting""".split()
)
_SUFFIXES = ("ing", "ers", "ed", "er", "es", "s", "ly")


def normalize(text: str) -> str:
    """Lower-cased text with addresses, shapes, paths, device indices, pids and numbers masked."""
    # Full-width letters, digits and signs, as Chinese input methods type them ("ｌｏｓｓ为ｎａｎ",
    # "ｂａｔｃｈｓｉｚｅ＝４"), are the ASCII ones.
    out = unicodedata.normalize("NFKC", text)
    for pattern, replacement in _RULES:
        out = pattern.sub(replacement, out)
    return _SPACES.sub(" ", out).strip().lower()


def stem(word: str) -> str:
    """A light suffix stripper, so that "predicts", "predicted" and "predicting" are one word, and
    "slower" is "slow".
    Not a linguist's stemmer: it only has to send the forms of a word to the same key."""
    if len(word) <= 4 or not word.isalpha():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not (suffix == "s" and word.endswith("ss")):
            word = word[: -len(suffix)]
            doubled = len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "ls"
            if doubled and suffix in ("ing", "ed", "er", "ers"):
                word = word[:-1]  # stopped -> stop, embedding -> embed, bigger -> big
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


# The chatter of a question ("hi, thanks for the great repo, anyone know why..."): in a
# description it would weigh as much as the words that name the problem. Error messages keep
# these words ("cannot find module"), so the index does too; only descriptions drop them.
CHATTER = frozenset(
    stem(word)
    for word in """am being these those there here us they them their he she his her shall may might
    must also just very really still even much many lot lots less more most some any other others
    another than too such about because since though although however into onto via per each
    both either which who whom where hi hello hey thanks thank please help sorry bother regards
    dear sir author authors repo repository project work works worked working great nice good
    amazing awesome excellent marvelous wonderful question questions issue issues problem problems
    anyone someone somebody something anything everything thing things way know knew think
    thought seem seems seemed try tried trying tries want wanted wants need needs needed like
    use using used uses happen happens happened happening find found see saw seen notice noticed
    look looks looked following follow below above attached weird strange idea ideas make makes
    made let lets able unable cannot yet already now again always never ever sometimes often well
    ok okay fine case cases during fix fixed solve solved solution solutions resolve reason thx
    appreciate advance kindly guys anybody everyone everybody""".split()
) | frozenset(
    # The same in Chinese, as the words segment() cuts (a word of three characters also gives its
    # known words of two: 为什么 gives 什么).
    """您好 你好 请问 作者 感谢 谢谢 什么 为什么 怎么 怎么回事 回事 问题 原因 情况 是否 一下 这是 发现
    请教 大佬 求助 楼主 博主 办法 如何 怎样 有没有 没有 知道 时候 但是 然后 因为 所以 已经 可以 不知
    不知道 需要 应该 好像 还是 这个 那个 一个 随着 直到 慢慢 老师 您们 希望 期待 回复 非常 麻烦
    想问 请问您 我们 你们 自己 一些 出现 遇到
    解决 解决方案 方案 思路 想法 方法 修复 无法 并且 而且 以及 或者 进行 使用 尝试 试过 发生 看到
    现在 原来 之后 之前 以后 以前 其他 其它 另外 很多 许多 部分 任何 真的 确实 仍然 依然 甚至
    虽然 尽管 不过 然而 总是 从来 有时 有时候 经常 再次 奇怪 觉得 认为 感觉 似乎 貌似 帮忙 帮助
    抱歉 打扰 大家 各位 有人 下面 如下 以下 上面 附上 仓库 项目 感激 比如 例如 额外""".split()
)


def tokens(normalized: str) -> list[str]:
    """Stemmed words for Latin script; for Chinese, the words segment() cuts it into."""
    found = [stem(w) for w in _WORD.findall(normalized) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    for whole_run in _CJK_RUN.findall(normalized):
        # The particles (的, 了, 吗) end words, so no word is formed across one ("证的", "爆了").
        for run in _CJK_PARTICLES.split(whole_run):
            if run:
                found += segment(run)
    return found


# A character that begins no known word stands alone: it costs as much as a word of frequency 1,
# so that the most likely cut is the one with the fewest and commonest words (as jieba cuts).
_LONE_COST = 0
_LONGEST_WORD = 4
_vocabulary: dict[str, int] | None = None


def cjk_vocabulary() -> dict[str, int]:
    """The Chinese words lazarus knows, with 10 x log10 of their frequency (cjk_words.txt: a line
    per value, then its words)."""
    global _vocabulary
    if _vocabulary is None:
        import os

        path = os.path.join(os.path.dirname(__file__), "cjk_words.txt")
        vocabulary: dict[str, int] = {}
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if not line.startswith("#"):
                    cost, *words = line.split()
                    vocabulary.update(dict.fromkeys(words, int(cost)))
        _vocabulary = vocabulary
    return _vocabulary


def segment(run: str) -> list[str]:
    """A run of Chinese characters cut into its most likely words (a dynamic programme over the
    word list, as jieba does). A word of four characters made of two known words is those two
    (持续增长: 持续, 增长); a word of three also yields the known words of two inside it (训练集:
    训练集 and 训练), so a longer word still meets its parts. A character that is part of no
    word stays alone."""
    if len(run) == 1:
        return [run]
    words = cjk_vocabulary()
    total = 80  # about 10 x log10 of the dictionary's total count: each word costs that much
    size = len(run)
    best = [0] * (size + 1)  # best[i]: the score of the best cut of run[i:]
    step = [1] * (size + 1)
    for start in range(size - 1, -1, -1):
        best[start] = _LONE_COST - total + best[start + 1]
        for length in range(2, min(_LONGEST_WORD, size - start) + 1):
            value = words.get(run[start : start + length])
            if value is not None and value - total + best[start + length] > best[start]:
                best[start], step[start] = value - total + best[start + length], length
    cut: list[str] = []
    start = 0
    while start < size:
        word = run[start : start + step[start]]
        if len(word) == 4 and word[:2] in words and word[2:] in words:
            cut += [word[:2], word[2:]]  # 持续增长 is 持续 and 增长: counted once each, not thrice
        else:
            cut.append(word)
            if len(word) > 2:
                cut += [word[i : i + 2] for i in range(len(word) - 1) if word[i : i + 2] in words]
        start += step[start]
    return cut


def is_cjk(word: str) -> bool:
    return word[:1] >= "\u3400"


def chinese_characters(text: str) -> int:
    return len(_CJK_CHAR.findall(text))


# Words that say a text is about deep learning with PyTorch: a text with none of them ("show me
# the error", a Go panic, a git message) is not ours to answer by resemblance.
DOMAIN_WORDS = frozenset(
    stem(word)
    for word in """
    torch pytorch torchvision torchaudio cuda cudnn nccl gpu gpus nvidia tensor tensors model models
    train training trained trainer finetune finetuning epoch epochs batch batches batch_size loss losses
    gradient gradients grad grads backward forward optimizer optim adam sgd lr learning weights weight
    checkpoint checkpoints state_dict dataloader dataset datasets num_workers layer layers conv lstm rnn gru
    transformer transformers bert attention embedding embeddings nan inf accuracy overfit overfitting
    validation inference predict prediction predictions logits softmax label labels classification
    segmentation detection yolo network neural autograd backprop fp16 bf16 amp precision ddp distributed
    multiprocessing mps onnx jit torchscript compile dynamo inductor triton numpy cpu device devices vram
    memory oom lightning huggingface timm mmcv mmdet detectron2 diffusers accelerate deepspeed xformers
    requires_grad freeze frozen parameter parameters param params seed deterministic reproducible leakage
    killed h100 a100 v100 t4 rtx 3090 4090 cnn resnet vit unet gan diffusion llm lora acc val dropout
    batchnorm collapse converge convergence underfit underfitting augmentation generator discriminator
    reproduce reproducibility torchrun init_process_group multinode nproc_per_node
    gnn gcn gat pyg torch_geometric edge_index mmdetection mmseg mmengine ultralytics yolov5 yolov8 clip
    simclr contrastive forecast forecasting eval classifier sampler efficientnet mobilenet densenet vgg
    sdxl vae tokenizer eos memmap mmap bfloat16 float16 autocast quantization
    llama qwen chatglm baichuan mistral gemma vllm peft qlora
    iou miou recall resume colab
    dreambooth kohya comfyui latent encoder decoder autoencoder npu ascend tpu xla
    libcudart libcudnn libcublas libnvrtc libtorch cublas nvcc cudatoolkit
    """.split()
)
DOMAIN_CJK = (
    "训练",
    "模型",
    "损失",
    "显存",
    "显卡",
    "张量",
    "梯度",
    "精度",
    "准确率",
    "推理",
    "权重",
    "数据集",
    "网络",
    "卷积",
    "学习率",
    "过拟合",
    "验证",
    "测试集",
    "预测",
    "分类",
    "分割",
    "检测",
    "收敛",
    "神经",
    "反向传播",
    "参数",
    "内存",
    "多卡",
    "单卡",
    "批次",
    "迭代",
    "种子",
    "复现",
    "随机",
    "论文",
    "分布式",
    "张卡",  # 两张卡, 多张卡: GPUs counted
    "微调",
    "预训练",
    "优化器",
    "归一化",
    "权值",
    "数据增强",
    "样本",
    "标签",
    "标注",
    "模式崩溃",
)


def speaks_domain(text: str) -> bool:
    """Whether a text uses any word of deep learning with PyTorch, in English or Chinese."""
    return domain_words(text, enough=1) >= 1


def domain_words(text: str, enough: int) -> int:
    """How many different words of deep learning with PyTorch a text uses, counted up to `enough`."""
    found = sum(word in text for word in DOMAIN_CJK)
    if found >= enough:
        return enough
    words = tokens(normalize(text[-MAX_DOMAIN_CHARS:]))
    # a name in snake_case says its words too: val_loss, train_acc, num_workers
    words += [stem(part) for word in words if "_" in word for part in word.split("_")]
    # a version glued to a name says the name: cuda10, cuda11, torch2
    words += [bare for word in words if len(bare := word.rstrip("0123456789")) >= 4 and bare != word]
    return min(enough, found + len(DOMAIN_WORDS.intersection(words)))


MAX_DOMAIN_CHARS = 4000
