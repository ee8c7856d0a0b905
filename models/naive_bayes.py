"""A small, explainable text classifier: multinomial naive Bayes over Chinese words (jieba) and
character bigrams, in plain Python. Its counts are plain JSON, so the trained model is a row.

Why a token points to a class is readable: its contribution is how much more often it was seen
in that class than in the others (log-likelihood ratio), which is what the suggestion shows.
"""
from __future__ import annotations

import logging
import math
import re
from collections import Counter
from functools import cache

HAN = re.compile(r"[\u4e00-\u9fff]+")
# Words that say nothing about the kind of problem.
STOP_WORDS = frozenset("的 了 在 是 有 和 也 都 就 很 还 又 被 把 我 你 他 她 们 这 那 里 上 下 着 没 不 人 个"
                       " 一个 已经 我们 他们 一直 好几天 附近 现在 旁边 每天 经常 居民 反映 希望 尽快 处理".split())


@cache
def _jieba():
    """jieba, imported when a text is first cut: importing it loads its HMM tables and
    pkg_resources (~10 MB), which a web worker that never suggests a category need not hold."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def words(text: str) -> list[str]:
    """The text's words (jieba), without punctuation, numbers and stop words."""
    return [w for w in _jieba().lcut(text or "") if HAN.fullmatch(w) and w not in STOP_WORDS]


def tokens(text: str) -> list[str]:
    """Words plus the character bigrams of every Chinese run (catch what jieba splits oddly)."""
    found = words(text)
    seen = set(found)
    for run in HAN.findall(text or ""):
        found += [run[i:i + 2] for i in range(len(run) - 1) if run[i:i + 2] not in seen]
    return found


def train(documents: list[tuple[str, object]]) -> dict:
    """Counts per class: {"classes": {label: {"docs", "total", "tokens": {token: n}}}, "vocabulary"}."""
    classes: dict[str, dict] = {}
    vocabulary: set[str] = set()
    for text, label in documents:
        entry = classes.setdefault(str(label), {"docs": 0, "total": 0, "tokens": Counter()})
        found = tokens(text)
        entry["docs"] += 1
        entry["total"] += len(found)
        entry["tokens"].update(found)
        vocabulary.update(found)
    for entry in classes.values():
        entry["tokens"] = dict(entry["tokens"])
    return {"classes": classes, "vocabulary": len(vocabulary)}


def _log_likelihood(entry: dict, token: str, vocabulary: int) -> float:
    return math.log((entry["tokens"].get(token, 0) + 1) / (entry["total"] + vocabulary + 1))


def rank(model: dict, text: str, limit: int = 3) -> list[tuple[str, float, list[str]]]:
    """The best ``limit`` classes for the text: (label, probability, the words that drove it)."""
    classes, vocabulary = model["classes"], model["vocabulary"]
    found = Counter(t for t in tokens(text) if any(t in e["tokens"] for e in classes.values()))
    if not classes or not found:
        return []
    documents = sum(e["docs"] for e in classes.values())
    scores = {label: math.log(e["docs"] / documents) + sum(
        n * _log_likelihood(e, t, vocabulary) for t, n in found.items())
        for label, e in classes.items()}
    top = max(scores.values())
    norm = sum(math.exp(s - top) for s in scores.values())
    best = sorted(scores, key=lambda label: -scores[label])[:limit]
    text_words = set(words(text))
    return [(label, math.exp(scores[label] - top) / norm, _drivers(model, label, found, text_words))
            for label in best]


def _drivers(model: dict, label: str, found: Counter, text_words: set[str],
             limit: int = 4) -> list[str]:
    """The tokens that speak most for ``label`` against every other class: whole words first,
    a character bigram only where no word of the text does."""
    classes, vocabulary = model["classes"], model["vocabulary"]
    others = [e for name, e in classes.items() if name != label]
    weight = {}
    for token in found:
        own = _log_likelihood(classes[label], token, vocabulary)
        rest = max((_log_likelihood(e, token, vocabulary) for e in others), default=own - 1)
        if own > rest:
            weight[token] = own - rest
    ordered = sorted(weight, key=lambda t: (t not in text_words, -weight[t], t))
    chosen: list[str] = []
    for token in ordered:
        if token not in text_words and (chosen or any(ch in STOP_WORDS for ch in token)):
            break
        if not any(token in c or c in token for c in chosen):
            chosen.append(token)
    return chosen[:limit]
