"""One Presidio analyzer per process, built from the policies, three paths by cost.

Free text goes through spaCy's NER, batched (`nlp.pipe` over a request's
texts), then every recognizer. Attributes go through the pattern path: the
tokenizer (for context words) and the pattern recognizers, no NER. A
structured value whose type is known (an e-mail, a phone number, an IBAN) is
checked by that type's recognizers alone, with no spaCy at all.

Nothing here logs or raises with the analysed text (CONVENTIONS R6).
"""

import json
import threading
from collections import defaultdict
from collections.abc import Sequence
from functools import cache

import regex
from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts

from gateway.pii.language import detect_language
from gateway.pii.lexicon import EMPTY, dictionary
from gateway.pii.nlp import GatewayNlpEngine
from gateway.pii.recognizers import RECOGNIZERS
from gateway.pii.recognizers.names import might_hold_a_name
from gateway.pii.recognizers.ner import CleanNerRecognizer
from gateway.pii.redaction import Redactor
from gateway.pii.spans import (
    Redacted,
    Span,
    known_spans,
    prefer_names,
    resolve,
    split_name_parts,
    with_known,
)
from gateway.policy.pii_policy import PII_ENTITIES, PiiPolicy

# Case matters in our patterns (a capital starts a name or a street name):
# Presidio's default flags add IGNORECASE, so ask for these instead.
REGEX_FLAGS = regex.DOTALL | regex.MULTILINE
AUTO = "auto"
# Every entity but these is written with digits (IPv6 included: "::1").
NEEDS_DIGITS = frozenset(PII_ENTITIES) - {
    "PERSON",
    "LOCATION",
    "ORGANIZATION",
    "DATE_TIME",
    "EMAIL_ADDRESS",
    "URL",
}
# Languages whose pipeline's dictionary tells names from words: the French
# lemma index holds common words only, the English one (WordNet) holds
# "john" and "london" too, so English names rest on NER and capitals.
DICTIONARY_LANGUAGES = frozenset({"fr"})
# Languages whose names are cut per part (surname, first name), as French
# notes write them ("DUPONT Jean") and French corpora annotate them.
NAME_PARTS_LANGUAGES = frozenset({"fr"})


class PiiAnalyzer:
    """Detect and redact personal data as the policy says, in French and English."""

    def __init__(self, policy: PiiPolicy) -> None:
        self.policy = policy
        self.languages = tuple(policy.languages)
        self.nlp = GatewayNlpEngine(
            {lang: policy.models.get(lang) for lang in self.languages}
        )
        self.nlp.load()
        registry = RecognizerRegistry(supported_languages=list(self.languages))
        self._by_entity: dict[tuple[str, str], list[EntityRecognizer]] = defaultdict(
            list
        )
        for language in self.languages:
            model = policy.models.get(language)
            words = dictionary(model) if language in DICTIONARY_LANGUAGES else EMPTY
            for recognizer in RECOGNIZERS[language](words):
                registry.add_recognizer(recognizer)
                for entity in recognizer.supported_entities:
                    self._by_entity[language, entity].append(recognizer)
            if self.nlp.has_ner(language):
                registry.add_recognizer(CleanNerRecognizer(language, words))
        self.engine = AnalyzerEngine(
            registry=registry,
            nlp_engine=self.nlp,
            supported_languages=list(self.languages),
            default_score_threshold=policy.score_threshold,
            # Context words match whole words (Presidio's default substring
            # match lets "cp" fire inside any word holding those letters), and
            # three words back, not five: in "DDN 31/12/1987, rappel prévu le
            # 13/06/2024" the second date is not a birth date.
            context_aware_enhancer=LemmaContextAwareEnhancer(
                context_matching_mode="whole_word", context_prefix_count=3
            ),
        )
        self._entities = list(policy.entities)
        self._redactor = Redactor(policy)
        # spaCy pipelines are not safe to share between threads; requests are
        # served from a thread pool.
        self._lock = threading.Lock()

    def language_of(self, text: str, language: str = AUTO) -> str:
        """The language to analyse a text in: the one asked for, or detected."""
        if language != AUTO:
            return language
        detected = detect_language(text, self.policy.default_language)
        return detected if detected in self.languages else self.policy.default_language

    def analyze_batch(
        self, texts: Sequence[str], language: str = AUTO
    ) -> list[list[Span]]:
        """Free text: NER over the whole batch, then every recognizer per text.

        Args:
            texts: The texts, in any number.
            language: "fr", "en", or "auto" to detect each text's language.

        Returns:
            One list of non-overlapping spans per text, in order.
        """
        return self._run(texts, language, with_ner=True)

    def scan_patterns(
        self, texts: Sequence[str], language: str = AUTO
    ) -> list[list[Span]]:
        """The pattern path: pattern recognizers and context words, no NER."""
        return self._run(texts, language, with_ner=False)

    def _run(
        self, texts: Sequence[str], language: str, *, with_ner: bool
    ) -> list[list[Span]]:
        self._check_language(language)
        groups: dict[str, list[int]] = defaultdict(list)
        for index, text in enumerate(texts):
            groups[self.language_of(text, language)].append(index)
        found: list[list[Span]] = [[] for _ in texts]
        for lang, indexes in groups.items():
            batch = [texts[i] for i in indexes]
            # Everything spaCy makes for the batch is freed when the zone ends,
            # so spans are copied out as plain offsets inside it.
            with self._lock, self.nlp.memory_zone(lang):
                artifacts = self._artifacts(batch, lang, with_ner=with_ner)
                for index, text, artifact in zip(
                    indexes, batch, artifacts, strict=True
                ):
                    found[index] = self._analyze_one(text, lang, artifact)
        return found

    def _artifacts(
        self, texts: list[str], language: str, *, with_ner: bool
    ) -> list[NlpArtifacts]:
        if not (with_ner and self.nlp.has_ner(language)):
            return self.nlp.tokenize(texts, language)
        # NER only where a name we would keep can be: a text with no
        # capitalised word past a sentence's first is tokenized only.
        named = [might_hold_a_name(text) for text in texts]
        with_names = [t for t, name in zip(texts, named, strict=True) if name]
        without = [t for t, name in zip(texts, named, strict=True) if not name]
        ner = self.nlp.process_batch(with_names, language, self.policy.batch_size)
        plain = iter(self.nlp.tokenize(without, language))
        return [next(ner)[1] if name else next(plain) for name in named]

    def _analyze_one(
        self, text: str, language: str, artifacts: NlpArtifacts
    ) -> list[Span]:
        entities = self._worth_looking_for(text)
        if not entities:
            return []
        results = self.engine.analyze(
            text,
            language,
            entities=entities,
            nlp_artifacts=artifacts,
            regex_flags=REGEX_FLAGS,
        )
        spans = [
            Span(r.entity_type, r.start, r.end, round(r.score, 4)) for r in results
        ]
        guessed = [
            (r.recognition_metadata or {}).get(RecognizerResult.RECOGNIZER_NAME_KEY)
            == CleanNerRecognizer.__name__
            for r in results
        ]
        spans = resolve(prefer_names(spans, guessed))
        if language in NAME_PARTS_LANGUAGES:
            return split_name_parts(text, spans)
        return spans

    def _worth_looking_for(self, text: str) -> list[str]:
        """The policy's entities that this text could hold at all.

        Every entity but a name is written with digits (an e-mail with an @):
        half of all comments have neither, and skipping the recognizers that
        cannot match costs nothing in recall.
        """
        has_digit = any(c.isdigit() for c in text)
        has_at = "@" in text
        return [
            e
            for e in self._entities
            if (has_digit or e not in NEEDS_DIGITS) and (has_at or e != "EMAIL_ADDRESS")
        ]

    def check_structured(
        self, entity: str, value: str, language: str | None = None
    ) -> bool:
        """Whether a whole value is one `entity` (e.g. a field typed IBAN).

        Only that entity's recognizers run, with no spaCy at all: the cost of a
        regular expression and a checksum.
        """
        lang = language or self.policy.default_language
        recognizers = self._by_entity.get((lang, entity))
        if not recognizers:
            raise ValueError(f"no recognizer for {entity} in language {lang}")
        stripped = value.strip()
        threshold = self.policy.score_threshold
        for recognizer in recognizers:
            confirms = getattr(recognizer, "confirms", None)
            if confirms is not None and confirms(stripped, threshold):
                return True
            for result in recognizer.analyze(stripped, [entity], None):
                whole = result.start == 0 and result.end == len(stripped)
                if whole and result.score >= self.policy.score_threshold:
                    return True
        return False

    def redact_batch(
        self,
        texts: Sequence[str],
        language: str = AUTO,
        *,
        with_ner: bool = True,
        known: Sequence[Sequence[tuple[str, str]]] | None = None,
    ) -> list[Redacted]:
        """Each text with its personal data replaced as the policy's operators say.

        `known`, one list per text: (entity type, value) pairs already known to
        be personal data of the text's subject (the record's own name, e-mail,
        street), redacted wherever they occur whether detection finds them or
        not (`gateway.pii.spans.known_spans`).
        """
        spans = self._run(texts, language, with_ner=with_ner)
        if known is not None:
            spans = [
                with_known(found, known_spans(text, values)) if values else found
                for text, found, values in zip(texts, spans, known, strict=True)
            ]
        return [self._redactor.redact(t, s) for t, s in zip(texts, spans, strict=True)]

    def _check_language(self, language: str) -> None:
        if language != AUTO and language not in self.languages:
            allowed = ", ".join((*self.languages, AUTO))
            raise ValueError(f"language: {language} is not one of {allowed}")


@cache
def _cached(policy_json: str) -> PiiAnalyzer:
    return PiiAnalyzer(PiiPolicy.model_validate_json(policy_json))


def load_analyzer(policy: PiiPolicy) -> PiiAnalyzer:
    """The process's analyzer for a policy: built on first use, then shared."""
    return _cached(json.dumps(policy.model_dump(mode="json"), sort_keys=True))
