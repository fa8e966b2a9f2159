"""Apply the policy's operators to detected spans (Presidio Anonymizer)."""

from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

from gateway.pii.spans import Redacted, Span
from gateway.policy.pii_policy import PiiPolicy


class Redactor:
    """Replace each span the way the policy says: a typed placeholder by default."""

    def __init__(self, policy: PiiPolicy) -> None:
        self._engine = AnonymizerEngine()
        self._operators = {
            entity: self._config(policy, entity)
            for entity in (*policy.entities, "DEFAULT")
        }

    @staticmethod
    def _config(policy: PiiPolicy, entity: str) -> OperatorConfig:
        operator = policy.operator_for(entity)
        if operator.type == "redact":
            return OperatorConfig("redact", {})
        # Presidio's replace writes "<ENTITY_TYPE>" when given no new value.
        params = {} if operator.new_value is None else {"new_value": operator.new_value}
        return OperatorConfig("replace", params)

    def redact(self, text: str, spans: list[Span]) -> Redacted:
        """The text with every span replaced; unchanged when there is none."""
        if not spans:
            return Redacted(text, ())
        results = [
            RecognizerResult(s.entity_type, s.start, s.end, s.score) for s in spans
        ]
        done = self._engine.anonymize(text, results, self._operators)
        return Redacted(done.text, tuple(sorted({s.entity_type for s in spans})))
