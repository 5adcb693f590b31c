"""A cue-lexicon classifier: weighted praise / criticism phrases with negation and a title boost."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nlp.classify import POLAR, Prediction, neutral
from nlp.text import normalize, sentences

SYLLABLE_RE = re.compile(r"\w+")
# What may stand between the syllables of one phrase: spaces, commas, hyphens, quotes.
PHRASE_GAP_RE = re.compile(r"[\s,\-–—“”\"'‘’]*")
VIETNAMESE_RE = re.compile(
    "[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", re.IGNORECASE
)
POLARITIES = POLAR
# What may come before a sentence's first word: its capital letter says nothing about a name.
SENTENCE_OPENERS = " \"'“‘(-–"


@dataclass(frozen=True)
class Entry:
    """One lexicon phrase and what it does when matched."""

    phrase: str
    kind: str  # praise, criticism, negator, not_negator or blocker
    weight: float = 0.0
    public_context: bool = False


@dataclass(frozen=True)
class Hit:
    """A matched cue after scope rules: the label it supports and with what weight."""

    phrase: str
    polarity: str
    weight: float
    negated: bool = False


@dataclass(frozen=True)
class Scope:
    """Scope rules and decision constants read from the `scope` block of cues.yaml."""

    title_weight: float = 3.0
    negation_window: int = 3
    clause_breaks: str = ",;:.!?()[]"
    negated_praise_factor: float = 0.8
    out_of_context_factor: float = 0.25
    neutral_score: float = 4.0
    praise_factor: float = 0.8
    long_body_sentences: int = 10
    long_body_power: float = 0.5
    max_evidence: int = 3

    def body_divisor(self, n_body: int) -> float:
        """Return what body evidence is divided by, so long articles need more cues."""
        if n_body <= self.long_body_sentences:
            return 1.0
        return (n_body / self.long_body_sentences) ** self.long_body_power


def _syllables(phrase: str) -> tuple[str, ...]:
    """Split a lexicon phrase into normalised lower-case syllables."""
    return tuple(SYLLABLE_RE.findall(normalize(phrase).lower()))


def _is_proper_name(sentence: str, start: int, end: int, opening: int) -> bool:
    """Return whether a match is a capitalised name mid-sentence ("Lê Thanh Liêm", "Công ty X").

    opening: where the sentence's first word starts (after quotes, brackets and dashes), found
    once per sentence: slicing the text before each match made long sentences quadratic.
    """
    if start <= opening:
        return False  # the first word of a sentence is capitalised anyway
    words = SYLLABLE_RE.findall(sentence, start, end)
    return all(w[0].isupper() and not w.isupper() for w in words)


class Lexicon:
    """Phrase matcher over syllables: longest match first, then negation and context rules."""

    def __init__(self, config: dict[str, Any]) -> None:
        """Build the phrase trie and the public-context pattern from a parsed cues.yaml."""
        self.scope = Scope(**(config.get("scope") or {}))
        self.entries: dict[tuple[str, ...], Entry] = {}
        for kind in ("negators", "not_negators", "blockers"):
            for phrase in config.get(kind) or []:
                self._add(Entry(phrase, kind.removesuffix("s")))
        for polarity in POLARITIES:
            for group in config.get(polarity) or []:
                for phrase in group["phrases"]:
                    entry = Entry(
                        phrase, polarity, float(group["weight"]), bool(group.get("public_context"))
                    )
                    self._add(entry)
        self._trie: dict[str, Any] = {}
        for key, entry in self.entries.items():
            node = self._trie
            for syllable in key:
                node = node.setdefault(syllable, {})
            node[""] = entry  # "" never is a syllable, so it marks the end of a phrase
        terms = sorted({" ".join(_syllables(t)) for t in config.get("public_terms") or []}, key=len)
        alternatives = "|".join(
            r"[\s\-]+".join(map(re.escape, t.split())) for t in reversed(terms) if t
        )
        self._public_re = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)") if terms else None

    def _add(self, entry: Entry) -> None:
        """Add one phrase; a phrase listed twice is a data error."""
        key = _syllables(entry.phrase)
        if not key:
            raise ValueError(f"empty cue phrase {entry.phrase!r}")
        if key in self.entries:
            other = self.entries[key]
            raise ValueError(f"cue {entry.phrase!r} listed twice ({other.kind} and {entry.kind})")
        self.entries[key] = entry

    @classmethod
    def from_yaml(cls, path: Path) -> Lexicon:
        """Load a lexicon from a cues.yaml file."""
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")))

    def has_public_term(self, lowered: str) -> bool:
        """Return whether a lower-cased sentence names an official or a public body."""
        return bool(self._public_re and self._public_re.search(lowered))

    def _matches(self, lowered: str) -> list[tuple[int, int, int, Entry]]:
        """Return (first syllable, char start, char end, entry), leftmost-longest, no overlaps."""
        tokens = [(m.group(), m.start(), m.end()) for m in SYLLABLE_RE.finditer(lowered)]
        found = []
        i = 0
        while i < len(tokens):
            node = self._trie.get(tokens[i][0])
            best: tuple[int, Entry] | None = None
            j = i
            while node is not None:
                if "" in node:
                    best = (j, node[""])
                j += 1
                if j >= len(tokens) or not PHRASE_GAP_RE.fullmatch(
                    lowered, tokens[j - 1][2], tokens[j][1]
                ):
                    break
                node = node.get(tokens[j][0])
            if best is None:
                i += 1
                continue
            end, entry = best
            found.append((i, tokens[i][1], tokens[end][2], entry))
            i = end + 1
        return found

    def hits(self, sentence: str, title_is_public: bool = False) -> list[Hit]:
        """Return the cue hits of one sentence after negation and public-context rules."""
        return [hit for _, _, hit in self.located_hits(sentence, title_is_public)]

    def located_hits(
        self, sentence: str, title_is_public: bool = False
    ) -> list[tuple[int, int, Hit]]:
        """The cue hits of one sentence with where each phrase stands: (start, end, hit)."""
        lowered = sentence.lower()
        scope = self.scope
        in_context = title_is_public or self.has_public_term(lowered)
        # str.lower keeps Vietnamese text the same length; if it did not, skip the name check.
        aligned = len(lowered) == len(sentence)
        opening = len(sentence) - len(sentence.lstrip(SENTENCE_OPENERS))
        out: list[tuple[int, int, Hit]] = []
        negator_end: tuple[int, int] | None = None  # (syllable index after it, char end)
        for first, start, end, entry in self._matches(lowered):
            if (
                entry.kind in POLARITIES
                and aligned
                and _is_proper_name(sentence, start, end, opening)
            ):
                continue
            if entry.kind == "negator":
                n_syllables = len(SYLLABLE_RE.findall(lowered, start, end))
                negator_end = (first + n_syllables, end)
                continue
            if entry.kind not in POLARITIES:
                negator_end = None if entry.kind == "not_negator" else negator_end
                continue
            negated = (
                negator_end is not None
                and first - negator_end[0] <= scope.negation_window
                and not any(c in scope.clause_breaks for c in lowered[negator_end[1] : start])
            )
            weight = entry.weight
            if entry.public_context and not in_context:
                weight *= scope.out_of_context_factor
            if negated and entry.kind == "praise":
                weight *= scope.negated_praise_factor
                out.append((start, end, Hit(entry.phrase, "criticism", weight, True)))
            elif negated:
                out.append((start, end, Hit(entry.phrase, "criticism", 0.0, True)))
            else:
                out.append((start, end, Hit(entry.phrase, entry.kind, weight)))
        return out


@dataclass(frozen=True)
class SentenceScore:
    """Weighted praise and criticism evidence of one sentence."""

    text: str
    praise: float
    criticism: float
    hits: tuple[Hit, ...]


class CueLexiconClassifier:
    """Label = the polarity with more weighted cue evidence, if it beats a fixed neutral score."""

    def __init__(self, lexicon: Lexicon, model_id: str = "cue-lexicon") -> None:
        """Wrap a lexicon under a model id."""
        self.lexicon = lexicon
        self.model_id = model_id

    @classmethod
    def from_dir(cls, model_dir: Path, config: dict[str, Any]) -> CueLexiconClassifier:
        """Build from a model folder and its model.json."""
        lexicon = Lexicon.from_yaml(model_dir / config.get("cues", "cues.yaml"))
        return cls(lexicon, str(config.get("model_id", model_dir.name)))

    def score_sentences(self, text: str) -> list[SentenceScore]:
        """Score every sentence: the title times title_weight, the body over body_divisor."""
        sents = sentences(text)
        if not sents:
            return []
        scope = self.lexicon.scope
        title_is_public = self.lexicon.has_public_term(sents[0].lower())
        body_factor = 1.0 / scope.body_divisor(len(sents) - 1)
        scored = []
        for i, sent in enumerate(sents):
            factor = scope.title_weight if i == 0 else body_factor
            hits = tuple(self.lexicon.hits(sent, title_is_public))
            praise = factor * sum(h.weight for h in hits if h.polarity == "praise")
            criticism = factor * sum(h.weight for h in hits if h.polarity == "criticism")
            scored.append(SentenceScore(sent, praise, criticism, hits))
        return scored

    def classify(self, text: str) -> Prediction:
        """Label one text; never raises on empty or non-Vietnamese input."""
        if (unread := unreadable(text, "lexicon")) is not None:
            return unread
        scored = self.score_sentences(text)
        scope = self.lexicon.scope
        totals = {
            "praise": scope.praise_factor * sum(s.praise for s in scored),
            "criticism": sum(s.criticism for s in scored),
            "neutral": scope.neutral_score,
        }
        norm = sum(totals.values())
        scores = {label: value / norm for label, value in totals.items()}
        if max(totals["praise"], totals["criticism"]) <= scope.neutral_score:
            return Prediction("neutral", scores, [], _neutral_reason(scored))
        label = "criticism" if totals["criticism"] >= totals["praise"] else "praise"
        carriers = sorted(
            (s for s in scored if getattr(s, label) > 0), key=lambda s: -getattr(s, label)
        )[: scope.max_evidence]
        hits = [h for s in carriers for h in s.hits if h.polarity == label and h.weight > 0]
        return Prediction(
            label, scores, [s.text for s in carriers], f"{label} cues: {_cue_list(hits)}"
        )


def _cue_list(hits: list[Hit], limit: int = 4) -> str:
    """Name the distinct cues of some hits, negated ones as "not <cue>"."""
    names = list(dict.fromkeys(("not " if h.negated else "") + h.phrase for h in hits))
    more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def unreadable(text: str, reader: str = "model") -> Prediction | None:
    """The neutral prediction of a text no model reads (empty, no Vietnamese letters), else None."""
    if not text or not text.strip():
        return neutral("empty text")
    if not VIETNAMESE_RE.search(text):
        return neutral(f"no Vietnamese letters found; the {reader} only reads Vietnamese")
    return None


def _neutral_reason(scored: list[SentenceScore]) -> str:
    """Explain a neutral label: no cues, only negated cues, or too little evidence."""
    summary = cue_summary(scored)
    if summary.startswith("cues: "):
        return f"cue evidence below the neutral score ({summary.removeprefix('cues: ')})"
    return summary


def carriers(scored: list[SentenceScore], label: str, limit: int) -> list[SentenceScore]:
    """Return up to limit sentences with the most cue evidence for a label, strongest first."""
    with_evidence = (s for s in scored if getattr(s, label) > 0)
    return sorted(with_evidence, key=lambda s: -getattr(s, label))[:limit]


def cue_summary(scored: list[SentenceScore], label: str = "") -> str:
    """Name the cues found: those for a label, or for a neutral label all of them, or none."""
    if label:
        hits = [h for s in scored for h in s.hits if h.polarity == label and h.weight > 0]
        return f"{label} cues: {_cue_list(hits)}" if hits else f"no {label} cue phrase"
    hits = [h for s in scored for h in s.hits]
    if not hits:
        return "no cue phrases found"
    if all(h.weight == 0 for h in hits):
        return f"only negated cues ({_cue_list(hits)})"
    return f"cues: {_cue_list([h for h in hits if h.weight])}"


def explain(
    scores: dict[str, float],
    model_id: str,
    cues: CueLexiconClassifier,
    scored: list[SentenceScore],
    model_evidence: Callable[[str], list[str]],
    how: str,
) -> Prediction:
    """A trained model's label (its top score) with evidence: cue sentences, else its own pick.

    model_evidence(label) gives the sentences the model itself finds most of that label; `how`
    says how it chose them, for the reason.
    """
    label = max(scores, key=scores.__getitem__)
    confidence = f"{label} {scores[label]:.2f} ({model_id})"
    if label == "neutral":
        return Prediction(label, scores, [], f"{confidence}; {cue_summary(scored)}")
    carrying = carriers(scored, label, cues.lexicon.scope.max_evidence)
    if carrying:
        reason = f"{confidence}; {cue_summary(carrying, label)}"
        return Prediction(label, scores, [s.text for s in carrying], reason)
    reason = f"{confidence}; no {label} cue phrase: {how}"
    return Prediction(label, scores, model_evidence(label), reason)
