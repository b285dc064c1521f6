"""Every sentence lazarus says to a person, in English and Chinese, in one table.

Entry text comes from the KB; this is the rest: labels, headers, status lines and messages.
`say(lang, key, **values)` formats one of them.
"""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        # lazarus env
        "env_header": "lazarus env: {where}",
        "env_missing": "not installed",
        "env_cpu_build": "CPU-only build",
        "env_import_fails": "installed, but import torch fails: {error}",
        "env_cuda_yes": "torch.cuda.is_available() is True",
        "env_cuda_no": "torch.cuda.is_available() is False",
        "env_no_gpu": "no NVIDIA GPU found (no nvidia-smi answer)",
        "env_summary": "{passed} checks passed, {failed} failed; {unchecked} do not apply here (facts unknown)",
        # labels of an answer
        "causes": "Likely causes",
        "fix": "Fix",
        "matched": "Your error",
        "frame": "In your code",
        "here": "In your case",
        "more": "Causes and references: lazarus show {id}",
        "snippet": "Fixed code",
        "score": "score",
        "known": "known error",
        "likely": "likely",
        "possible": "possible, check the symptom",
        "symptom": "Symptom",
        "tags": "Tags",
        "refs": "References",
        # messages
        "none": "No confident match. Try the exact error line, or `lazarus list` to browse.",
        "tentative": "No confident match. Possibly related (check each symptom before its fix):",
        "no_error": "no error line found in {name}: paste the lines of the traceback, or describe the symptom",
        "the_input": "the input",
        "the_text": "the text",
        "cut_traceback": (
            "the traceback in {name} stops before its error line: paste its last lines too"
            " (the `SomeError: message` line under the last frame)"
        ),
        "hook_header": "lazarus knows this error:",
        "kb_problems": "skipped an entry: {problem}{more}",
        "kb_more": " (and {count} more problem(s): `lazarus kb check` lists them)",
        "exited": "the command exited with code {code}",
        "killed": "the command was killed by {name} (signal {number})",
        # the verification line
        "verified": "verified: {parts}",
        "unproven": "not verified: {parts}",
        "not_verified": "not verified yet",
        "skipped": "skipped",
        "cuda_not_run": "cuda not run here",
        # the paste prompt
        "paste_prompt": (
            "Paste the error or traceback, then press Ctrl-D (or Enter on an empty line after the traceback)"
        ),
    },
    "zh": {
        # lazarus env
        "env_header": "lazarus env：{where}",
        "env_missing": "未安装",
        "env_cpu_build": "仅 CPU 版本",
        "env_import_fails": "已安装，但 import torch 失败：{error}",
        "env_cuda_yes": "torch.cuda.is_available() 为 True",
        "env_cuda_no": "torch.cuda.is_available() 为 False",
        "env_no_gpu": "没有找到 NVIDIA GPU（nvidia-smi 无应答）",
        "env_summary": "{passed} 项检查通过，{failed} 项未通过；{unchecked} 项在这里不适用（缺少所需信息）",
        "causes": "可能原因",
        "fix": "解决办法",
        "matched": "你的报错",
        "frame": "出错位置",
        "here": "你的情况",
        "more": "可能原因和参考：lazarus show {id}",
        "snippet": "修复后的代码",
        "score": "匹配度",
        "known": "已知错误",
        "likely": "很可能",
        "possible": "有可能，请核对现象",
        "symptom": "现象",
        "tags": "标签",
        "refs": "参考",
        "none": "没有把握的匹配。试试粘贴完整的报错行，或用 `lazarus list` 浏览。",
        "tentative": "没有把握的匹配。可能相关（先核对各自的症状，再试它的修复）：",
        "no_error": "{name} 中没有找到报错行：请粘贴 traceback 的内容，或描述现象",
        "the_input": "输入的内容",
        "the_text": "粘贴的文本",
        "cut_traceback": (
            "{name} 中的 traceback 在报错行之前就断了："
            "请把最后几行也贴上（最后一个 File 之后的 `XxxError: 信息` 那一行）"
        ),
        "hook_header": "lazarus 认得这个错误：",
        "kb_problems": "跳过了一个条目：{problem}{more}",
        "kb_more": "（另有 {count} 个问题：`lazarus kb check` 会列出）",
        "exited": "命令以退出码 {code} 结束",
        "killed": "命令被 {name}（信号 {number}）杀死",
        "verified": "已验证：{parts}",
        "unproven": "未验证：{parts}",
        "not_verified": "尚未验证",
        "skipped": "已跳过",
        "cuda_not_run": "cuda 未在此运行",
        "paste_prompt": "粘贴报错或 traceback，然后按 Ctrl-D（或在 traceback 之后的空行上按回车）",
    },
}


def labels_in(lang: str) -> dict[str, str]:
    """Every sentence in `lang`, English when the language is unknown."""
    return STRINGS.get(lang, STRINGS["en"])


def say(lang: str, key: str, **values: object) -> str:
    """The sentence `key` in `lang`, with its values filled in."""
    table = labels_in(lang)
    return table[key].format(**values) if values else table[key]
