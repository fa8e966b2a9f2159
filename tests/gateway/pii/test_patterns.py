import pytest

from gateway.pii import Span, contains_pii, find_pii, redact, redact_text
from gateway.pii.patterns import _resolve

# French NIR keys: 97 - (first 13 digits mod 97); Corsica 2A -> 19, 2B -> 18.
VALID = [
    ("EMAIL_ADDRESS", "jean.dupont@exemple.fr"),
    ("EMAIL_ADDRESS", "Alice.Martin+news@Mail.Example.COM"),
    ("EMAIL_ADDRESS", "zoë@exemple.fr"),
    ("PHONE_NUMBER", "06 12 34 56 78"),
    ("PHONE_NUMBER", "06.12.34.56.78"),
    ("PHONE_NUMBER", "0612345678"),
    ("PHONE_NUMBER", "+33 6 12 34 56 78"),
    ("PHONE_NUMBER", "+44 20 7946 0958"),
    ("PHONE_NUMBER", "+1 650-253-0000"),
    ("IBAN_CODE", "FR7630006000011234567890189"),
    ("IBAN_CODE", "FR76 3000 6000 0112 3456 7890 189"),
    ("IBAN_CODE", "DE89370400440532013000"),
    ("IBAN_CODE", "GB29 NWBK 6016 1331 9268 19"),
    ("CREDIT_CARD", "4111111111111111"),
    ("CREDIT_CARD", "4111 1111 1111 1111"),
    ("CREDIT_CARD", "5555-5555-5555-4444"),
    ("CREDIT_CARD", "3782 822463 10005"),
    ("FR_NIR", "255081416802538"),
    ("FR_NIR", "2 55 08 14 168 025 38"),
    ("FR_NIR", "1 85 05 78 006 084 91"),
    ("FR_NIR", "1 85 05 2A 006 084 35"),
    ("FR_NIR", "1 85 05 2B 006 084 62"),
    ("IP_ADDRESS", "192.168.1.10"),
    ("IP_ADDRESS", "8.8.8.8"),
    ("IP_ADDRESS", "255.255.255.255"),
]


@pytest.mark.parametrize(("entity", "value"), VALID)
def test_detects_valid_entities_in_context(entity: str, value: str) -> None:
    text = f"Voici la donnée : {value}. Merci."
    spans = find_pii(text)
    assert [(s.entity_type, text[s.start : s.end]) for s in spans] == [(entity, value)]
    assert 0 < spans[0].score <= 1
    assert contains_pii(text)


INVALID = [
    "jean.dupont@",
    "@exemple.fr",
    "jean.dupont at exemple dot fr",
    "12",
    "06 12 34",
    "FR7630006000011234567890188",  # IBAN check digits wrong
    "FR7630006000011234567890198",  # two digits swapped
    "XX7630006000011234567890189",  # no such country
    "4111111111111112",  # Luhn fails
    "1234 5678 9012 3456",
    "255081416802539",  # NIR key wrong
    "2 55 08 14 168 025 39",
    "1 85 05 2A 006 084 36",
    "255001416802538",  # month 00
    "256.1.1.1",
    "1.2.3",
    "1.2.3.4.5",
    "2024-03-01",
    "31/12/1985",
    "Commande 12345678 du 12/03/2024",
    "",
]


@pytest.mark.parametrize("value", INVALID)
def test_ignores_invalid_candidates(value: str) -> None:
    text = f"Référence {value} à traiter"
    assert find_pii(text) == []
    assert not contains_pii(text)
    assert redact_text(text) == (text, [])


def test_redacts_phone_and_email_in_french_sentence() -> None:
    text = "Appelez-moi au 06 12 34 56 78 ou écrivez à jean.dupont@exemple.fr"
    redacted, entities = redact_text(text)
    assert redacted == "Appelez-moi au <PHONE_NUMBER> ou écrivez à <EMAIL_ADDRESS>"
    assert entities == ["EMAIL_ADDRESS", "PHONE_NUMBER"]


def test_iban_stops_at_its_country_length() -> None:
    text = "Virement sur FR76 3000 6000 0112 3456 7890 189 EUR merci"
    assert redact_text(text) == (
        "Virement sur <IBAN_CODE> EUR merci",
        ["IBAN_CODE"],
    )


def test_card_leaves_a_following_expiry_date() -> None:
    text = "carte 4111 1111 1111 1111 12/25 ip 10.0.0.1."
    assert redact_text(text) == (
        "carte <CREDIT_CARD> 12/25 ip <IP_ADDRESS>.",
        ["CREDIT_CARD", "IP_ADDRESS"],
    )


def test_spans_are_sorted_and_do_not_overlap() -> None:
    text = (
        "NIR 2 55 08 14 168 025 38, mail 0612345678@sfr.fr, "
        "tel +33 6 12 34 56 78, IBAN FR7630006000011234567890189"
    )
    spans = find_pii(text)
    assert [s.entity_type for s in spans] == [
        "FR_NIR",
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "IBAN_CODE",
    ]
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))


def test_overlap_keeps_the_longest_then_the_highest_score() -> None:
    text = "0123456789"
    spans = [
        Span("A", 0, 4, 0.9),
        Span("B", 2, 9, 0.5),
        Span("C", 2, 9, 0.8),
    ]
    assert _resolve(spans) == [Span("C", 2, 9, 0.8)]
    assert redact(text, _resolve(spans)) == "01<C>9"


def test_redact_replaces_right_spans_in_any_order() -> None:
    text = "a@b.fr et c@d.fr"
    spans = [Span("EMAIL_ADDRESS", 10, 16, 1.0), Span("EMAIL_ADDRESS", 0, 6, 1.0)]
    assert redact(text, spans) == "<EMAIL_ADDRESS> et <EMAIL_ADDRESS>"


def test_redact_merges_overlapping_spans() -> None:
    assert redact("abcdefgh", [Span("X", 1, 4, 1.0), Span("Y", 3, 6, 1.0)]) == "a<X>gh"


def test_redact_without_spans_returns_the_text() -> None:
    assert redact("rien", []) == "rien"


def test_span_is_frozen() -> None:
    span = Span("EMAIL_ADDRESS", 0, 5, 0.9)
    with pytest.raises(AttributeError):
        span.start = 1  # type: ignore[misc]


def test_long_text_without_pii_is_untouched() -> None:
    text = "Très satisfait de la livraison. " * 200
    assert redact_text(text) == (text, [])
