"""Each recognizer on tables of texts that hold, or only look like, its entity.

Run through the real analyzer's pattern path (tokenizer and context words, no
NER), as attributes are scanned, so context rules count.
"""

import pytest

from gateway.pii.analyzer import PiiAnalyzer
from tests.pii_values import (
    group,
    make_card,
    make_iban,
    make_nir,
    make_siren,
    make_siret,
    make_vat,
)

SIREN = make_siren(73282932)
SIRET = make_siret(SIREN, 7)
LA_POSTE_SIRET = "35600000000048"  # Luhn-invalid: La Poste's own rule
NIR = make_nir(1, 85, 3, "75", 123456)
NIR_CORSICA = make_nir(2, 55, 8, "2A", 123456)
# How a carte Vitale prints it: sex, year, month, département, commune, order, key.
NIR_WRITTEN = " ".join(
    (NIR[0], NIR[1:3], NIR[3:5], NIR[5:7], NIR[7:10], NIR[10:13], NIR[13:])
)
IBAN_FR = make_iban("FR", "30006000011234567890189")
IBAN_DE = make_iban("DE", "370400440532013000")
CARD = make_card("4970101234")


def _found(
    analyzer: PiiAnalyzer, text: str, language: str = "fr"
) -> list[tuple[str, str]]:
    spans = analyzer.scan_patterns([text], language)[0]
    return [(s.entity_type, text[s.start : s.end]) for s in spans]


FOUND_FR = [
    (f"mon numéro de sécurité sociale est {NIR}", "FR_NIR", NIR),
    (f"NIR : {NIR_WRITTEN}", "FR_NIR", NIR_WRITTEN),
    (f"sécu {NIR_CORSICA}", "FR_NIR", NIR_CORSICA),
    (f"SIREN {group(SIREN, 3)}", "FR_SIREN", group(SIREN, 3)),
    (f"siret : {SIRET}", "FR_SIRET", SIRET),
    (f"SIRET {LA_POSTE_SIRET}", "FR_SIRET", LA_POSTE_SIRET),
    (f"TVA intracommunautaire {make_vat(SIREN)}", "FR_VAT", make_vat(SIREN)),
    (f"IBAN {group(IBAN_FR)} EUR", "IBAN_CODE", group(IBAN_FR)),
    (f"virement depuis {IBAN_DE}", "IBAN_CODE", IBAN_DE),
    (f"carte {group(CARD)}", "CREDIT_CARD", group(CARD)),
    ("appelez le 06 12 34 56 78", "PHONE_NUMBER", "06 12 34 56 78"),
    ("tél. 06.12.34.56.78", "PHONE_NUMBER", "06.12.34.56.78"),
    ("portable +33 6 12 34 56 78", "PHONE_NUMBER", "+33 6 12 34 56 78"),
    ("fixe 01-23-45-67-89", "PHONE_NUMBER", "01-23-45-67-89"),
    ("née le 3 mars 1985 à Lyon", "DATE_OF_BIRTH", "3 mars 1985"),
    ("date de naissance : 12/03/1985", "DATE_OF_BIRTH", "12/03/1985"),
    ("né le 1985-03-12", "DATE_OF_BIRTH", "1985-03-12"),
    ("j'habite au 12 rue de la Paix", "STREET_ADDRESS", "12 rue de la Paix"),
    (
        "livrez au 3 bis av. Jean Jaurès, merci",
        "STREET_ADDRESS",
        "3 bis av. Jean Jaurès",
    ),
    ("45 bd Haussmann", "STREET_ADDRESS", "45 bd Haussmann"),
    ("7, allée des Tilleuls", "STREET_ADDRESS", "7, allée des Tilleuls"),
    ("code postal 69003", "POSTAL_CODE", "69003"),
    ("Résidence Les Pins, 75002 Paris", "POSTAL_CODE", "75002"),
    # An address line keeps its postal code and town: one placeholder.
    ("12 rue Haute, 75002 Paris", "STREET_ADDRESS", "12 rue Haute, 75002 Paris"),
    (
        "au 44, rue charles, 63570 Saint-Rémy pour le rdv",
        "STREET_ADDRESS",
        "44, rue charles, 63570 Saint-Rémy",
    ),
    ("écrivez à jean.dupont@gmail.com", "EMAIL_ADDRESS", "jean.dupont@gmail.com"),
    ("connexion depuis 192.168.1.10", "IP_ADDRESS", "192.168.1.10"),
    # French names are cut per part: surname and first name.
    ("je m'appelle Marie Dupont", "PERSON", "Marie"),
    ("je m'appelle Marie Dupont", "PERSON", "Dupont"),
    ("Mme Lefebvre a rappelé", "PERSON", "Lefebvre"),
    # A labelled number is one whatever its digits: a NIR whose key fails, a
    # hospital's patient (IPP) or stay (NDA) number.
    ("n° sécu 1 84 12 76 451 089 46", "FR_NIR", "1 84 12 76 451 089 46"),
    ("IPP : 8001234567, vu ce jour", "PATIENT_ID", "8001234567"),
    ("NDA 123456789", "PATIENT_ID", "123456789"),
    ("CNI n° 880692310285", "ID_DOCUMENT", "880692310285"),
    ("permis de conduire : 13AB45678", "ID_DOCUMENT", "13AB45678"),
]


@pytest.mark.parametrize(("text", "entity", "value"), FOUND_FR)
def test_french_entity_is_found(
    analyzer: PiiAnalyzer, text: str, entity: str, value: str
) -> None:
    assert (entity, value) in _found(analyzer, text)


NOT_PII_FR = [
    "commande 732829321 expédiée",  # nine digits, no SIREN context, bad Luhn
    f"référence produit {SIREN}",  # a valid SIREN shape, but no context word
    "montant 75002 points fidélité",  # five digits, no address around them
    f"référence {NIR[:-2]}00",  # a NIR's shape, wrong key, no label
    "IBAN FR76 3000 6000 0112 3456 7890 188",  # wrong check digits
    "carte 4970 1012 3456 7891",  # fails Luhn
    "TVA FR00732829320",  # wrong VAT key
    "remise de 25 % sur 3 articles",
    "fichier@v2",
    "dosage 1.10 g/L le matin",  # not a date: two parts
    "rapport.pdf joint",  # a file, not a domain
    "version 1.2.3.4567",
]


@pytest.mark.parametrize("text", NOT_PII_FR)
def test_french_lookalikes_are_not_found(analyzer: PiiAnalyzer, text: str) -> None:
    assert _found(analyzer, text) == []


def test_valid_siret_is_not_also_a_card(analyzer: PiiAnalyzer) -> None:
    siret = make_siret(make_siren(35512345), 12)  # Luhn-valid, starts like a card
    text = f"SIRET {siret}"
    assert _found(analyzer, text) == [("FR_SIRET", siret)]


def test_iban_digits_are_not_a_card_or_phone(analyzer: PiiAnalyzer) -> None:
    text = f"RIB : {group(IBAN_FR)}"
    assert _found(analyzer, text) == [("IBAN_CODE", group(IBAN_FR))]


def test_iban_stops_at_the_country_length(analyzer: PiiAnalyzer) -> None:
    text = f"{IBAN_FR} 189 EUR"
    assert _found(analyzer, text) == [("IBAN_CODE", IBAN_FR)]


FOUND_EN = [
    ("Hello, my name is John Smith.", "PERSON", "John Smith"),
    ("Dear Mrs Hudson, thanks.", "PERSON", "Hudson"),
    ("Mr. O'Connor moved last year.", "PERSON", "O'Connor"),
    (
        "Send it to P.O. Box 1234, Austin, TX 78701.",
        "STREET_ADDRESS",
        "P.O. Box 1234, Austin, TX 78701",
    ),
    ("office in Austin, TX 78701 only", "STREET_ADDRESS", "Austin, TX 78701"),
    (
        "now at 90 Sunset Blvd Apt 4, Los Angeles, CA 90028",
        "STREET_ADDRESS",
        "90 Sunset Blvd Apt 4, Los Angeles, CA 90028",
    ),
    ("we met at 12 Maple Hollow.", "STREET_ADDRESS", "12 Maple Hollow"),
    ("call me at (212) 555-0147", "PHONE_NUMBER", "(212) 555-0147"),
    ("my mobile is 07911 123456", "PHONE_NUMBER", "07911 123456"),
    ("office: 020 7946 0958", "PHONE_NUMBER", "020 7946 0958"),
    ("I live at 221B Baker Street, London", "STREET_ADDRESS", "221B Baker Street"),
    ("ship to 1600 Pennsylvania Ave NW", "STREET_ADDRESS", "1600 Pennsylvania Ave"),
    ("born on March 3, 1985", "DATE_OF_BIRTH", "March 3, 1985"),
    ("DOB: 03/12/1985", "DATE_OF_BIRTH", "03/12/1985"),
    ("Order 4402 shipped on 03/12/2024.", "DATE_TIME", "03/12/2024"),
    ("SSN 536-90-4399 on file", "US_SSN", "536-90-4399"),
    ("His driver's license is D1234567.", "ID_DOCUMENT", "D1234567"),
    ("passport number: 123456789, issued 2019", "ID_DOCUMENT", "123456789"),
    ("my social security number is 536904399.", "US_SSN", "536904399"),
    ("My SSN is 451 02 9744. Thanks", "US_SSN", "451 02 9744"),
    ("it arrived this morning at 5:45pm: broken", "DATE_TIME", "5:45pm"),
    ("callback on July 1, 2024 at 15:15", "DATE_TIME", "15:15"),
    ("Postcode: EH1 1NA, thanks", "POSTAL_CODE", "EH1 1NA"),
    ("my zip code is 02174.", "POSTAL_CODE", "02174"),
    (
        "I moved to 7291 Church Rd, San Diego, CA 92136 in May",
        "STREET_ADDRESS",
        "7291 Church Rd, San Diego, CA 92136",
    ),
    (
        "new address: 135 Elm Street, York YO1 8WH.",
        "STREET_ADDRESS",
        "135 Elm Street, York YO1 8WH",
    ),
    ("see https://example.com/u/jsmith.", "URL", "https://example.com/u/jsmith"),
    ("date of birth 12 March 1985", "DATE_OF_BIRTH", "12 March 1985"),
    (f"card {CARD}", "CREDIT_CARD", CARD),
    (f"IBAN {make_iban('GB', 'NWBK60161331926819')}", "IBAN_CODE",
     make_iban("GB", "NWBK60161331926819")),
]  # fmt: skip


@pytest.mark.parametrize(("text", "entity", "value"), FOUND_EN)
def test_english_entity_is_found(
    analyzer: PiiAnalyzer, text: str, entity: str, value: str
) -> None:
    assert (entity, value) in _found(analyzer, text, "en")


@pytest.mark.parametrize(
    "text",
    [
        "This is Customer Service speaking.",
        "order 80629 shipped",  # five digits, no zip word: an order
        "ticket 536904399 closed",  # nine digits, no SSN word
        "SSN 666-12-3456",  # no area 666: stdnum says so
        "The parcel weighs 12 kg and costs 45.90 USD.",
    ],
)
def test_english_lookalikes_are_not_found(analyzer: PiiAnalyzer, text: str) -> None:
    assert _found(analyzer, text, "en") == []


DATES_FR = [
    ("livré le 12/03/2024 à 14h30", "12/03/2024"),
    ("vu le 5 JUIN 1940", "5 JUIN 1940"),
    ("RDV 13/09/2020.", "13/09/2020"),
    ("entrée le 18/02/2019 16:34", "18/02/2019 16:34"),
    ("reçu le 3 juin", "3 juin"),
    ("suivi depuis juin 2019", "juin 2019"),
    ("admis le 13-8-91", "13-8-91"),
    ("situation au 22.10.2027", "22.10.2027"),
    ("le MAR 8 JUILLET 2025 pour", "MAR 8 JUILLET 2025"),
    ("LE Ven., 9 Juin 2056", "Ven., 9 Juin 2056"),
    ("visite du SAM 20 FÉVR 2083", "SAM 20 FÉVR 2083"),
    ("exporté 1 0 0 4 2 0 5 3", "1 0 0 4 2 0 5 3"),
    ("le 2019-02-18", "2019-02-18"),
]


@pytest.mark.parametrize(("text", "value"), DATES_FR)
def test_every_french_date_form_is_a_date(
    analyzer: PiiAnalyzer, text: str, value: str
) -> None:
    assert ("DATE_TIME", value) in _found(analyzer, text)


def test_a_year_after_a_date_word_is_a_date_but_not_an_amount(
    analyzer: PiiAnalyzer,
) -> None:
    assert ("DATE_TIME", "2015") in _found(analyzer, "infarctus en 2015, stable")
    assert _found(analyzer, "facture de 2019 euros") == []


def test_a_clock_time_alone_is_not_a_date(analyzer: PiiAnalyzer) -> None:
    assert _found(analyzer, "arrivé ce matin à 10h00") == []


def test_spaced_digits_must_read_as_a_date(analyzer: PiiAnalyzer) -> None:
    assert _found(analyzer, "lot 9 9 1 9 2 0 5 3") == []


PHONES_FR = [
    "01 23 45 67 89",
    "01.23.45.67.89",
    "0123456789",
    "+33 1 23 45 67 89",
    "+33 (0)1 23 45 67 89",
    "+33123456789",
    # Grouped otherwise than the national format, opening on the trunk prefix.
    "0123 456 789",
    "01 234 567 89",
    "0 800 123 456",
    "0033 1 23 45 67 89",
]


@pytest.mark.parametrize("phone", PHONES_FR)
def test_every_french_phone_grouping_is_found(
    analyzer: PiiAnalyzer, phone: str
) -> None:
    assert ("PHONE_NUMBER", phone) in _found(analyzer, f"standard : {phone}.")


def test_digits_grouped_unlike_a_phone_need_a_context_word(
    analyzer: PiiAnalyzer,
) -> None:
    number = "748-2183294"  # a valid US number, grouped as no one writes one
    assert _found(analyzer, f"order {number} shipped", "en") == []
    found = _found(analyzer, f"my phone: {number}", "en")
    assert ("PHONE_NUMBER", number) in found


@pytest.mark.parametrize(
    "text", ["call 555-234-5678 today", "my number: +1-555-234-5678x123"]
)
def test_an_unassigned_number_grouped_as_a_phone_is_one(
    analyzer: PiiAnalyzer, text: str
) -> None:
    # No US area code 555 exists: fictional, mistyped or future, still a phone.
    assert [k for k, _ in _found(analyzer, text, "en")] == ["PHONE_NUMBER"]


def test_a_phone_extension_belongs_to_the_number(analyzer: PiiAnalyzer) -> None:
    text = "appelez le 01 23 45 67 89 poste 123 demain"
    assert _found(analyzer, text) == [("PHONE_NUMBER", "01 23 45 67 89 poste 123")]


NAMES_FR = [
    ("Vu JALONNET Christine ce jour", ["JALONNET", "Christine"]),
    ("Courrier du Docteur ROMAIN SPRITZ", ["ROMAIN", "SPRITZ"]),
    ("Pedron, Ekrem, 8/07/76", ["Pedron", "Ekrem"]),
    ("Mme krajewski patrice , 68 ans", ["krajewski", "patrice"]),
    ("Patient : CAVARLE, ANDRE , 41 ans", ["CAVARLE", "ANDRE"]),
    ("krier franck rivaill59@clinique.fr", ["krier", "franck"]),
    ("Le patient LASVEAUX maeron , 37 ans", ["LASVEAUX", "maeron"]),
    ("DURAND Colette : consultation de suivi", ["DURAND", "Colette"]),
    ("L'infirmière Chantal signale une agitation", ["Chantal"]),
    ("Dr A. MARTIN, praticien hospitalier", ["A.", "MARTIN"]),
    ("Pr J-P. Durand, chef de service", ["J-P.", "Durand"]),
    (
        "Patient : M. Jean-Pierre DE LA FONTAINE, 54 ans",
        ["Jean-Pierre", "DE LA FONTAINE"],
    ),
    ("Patiente née BERTRAND", ["BERTRAND"]),
    ("MARTIN Pierre-Yves né le 4 avril 1960", ["MARTIN", "Pierre-Yves"]),
    ("Yvonne gille yg@exemple.fr", ["Yvonne", "gille"]),
]


@pytest.mark.parametrize(("text", "names"), NAMES_FR)
def test_french_names_as_notes_write_them(
    analyzer: PiiAnalyzer, text: str, names: list[str]
) -> None:
    found = [value for kind, value in _found(analyzer, text) if kind == "PERSON"]
    assert found == names


NOT_NAMES_FR = [
    "Orientation vers un bilan orthophonique",
    "la patiente Ordonnance récupérée à la pharmacie",
    "Livraison rapide, merci",
    "Bilan sanguin, RAS",
    "Demande d'ALD faite par la MDPH",
    "Date d'entrée : 21-5-2076 , fin de contrat",
    "Dossier du conjoint L'enfant est scolarisé",
    # A field's label opens its line as a name would, and a colon follows.
    "CONCLUSION : patient stable",
    "Fax : 01 42 34 56 78",
    "EMAIL : suivi@exemple.fr",
    "Tél portable 06 12 34 56 78",
]


@pytest.mark.parametrize("text", NOT_NAMES_FR)
def test_french_prose_is_not_a_name(analyzer: PiiAnalyzer, text: str) -> None:
    assert [k for k, _ in _found(analyzer, text) if k == "PERSON"] == []


PLACES_FR = [
    ("Né à LYON le 02/02/1950", "LYON"),
    ("Résidant à Brest, originaire de Lille.", "Lille"),
    ("Il habite Tours avec sa mère", "Tours"),
    ("Il vit à Saint-Ouen-sur-Seine Suivi régulier", "Saint-Ouen-sur-Seine"),
    ("L'enfant est scolarisé à PARIS Suivi PMI", "PARIS"),
    ("CP : 44000 Ville : Nantes", "Nantes"),
    ("Nantes, le 12/03/2020", "Nantes"),
    ("code postal 29100, Quimper.", "Quimper"),
    ("Nous sommes immatriculés au RCS de Tours sous le numéro", "Tours"),
    ("Votre agence de Colmar ne répond plus", "Colmar"),
    ("(localisation : Québec)", "Québec"),
]


@pytest.mark.parametrize(("text", "value"), PLACES_FR)
def test_french_towns_read_from_the_sentence(
    analyzer: PiiAnalyzer, text: str, value: str
) -> None:
    assert ("LOCATION", value) in _found(analyzer, text)


@pytest.mark.parametrize(
    "text",
    [
        "Patiente née BERTRAND",  # a maiden name
        "Née le 3 mai 1950",
        "Scolarisé en CP, il travaille bien",
        "Scolarisée en SEGPA depuis septembre",
    ],
)
def test_no_town_without_one_in_the_sentence(analyzer: PiiAnalyzer, text: str) -> None:
    assert [v for k, v in _found(analyzer, text) if k == "LOCATION"] == []


ORGANIZATIONS_FR = [
    ("Service des urgences, Clinique Pervenche Saturation en O2", "Clinique Pervenche"),
    ("Cas de Mme Bertinet, admise à l'bct", "bct"),
    ("orienté vers l'Necker le lendemain", "Necker"),
    ("inscrit au lycée Victor Hugo", "lycée Victor Hugo"),
    ("Scolarisé au collège Jean Moulin de Rennes.", "collège Jean Moulin de Rennes"),
    ("Hospitalisé aux Hospices Civils de Lyon.", "Hospices Civils de Lyon"),
    ("Vu à la consultation de l'hôpital Tenon (Paris 20e).", "hôpital Tenon"),
    # The word that introduces a company is not its name; its legal form is.
    ("Je suis salarié de la société Garage de la Gare.", "Garage de la Gare"),
    ("Mon employeur Optique Vision Nord me rembourse", "Optique Vision Nord"),
    ("TVA de la société Mathieu S.A.R.L. : FR37696176833", "Mathieu S.A.R.L."),
]


@pytest.mark.parametrize(("text", "value"), ORGANIZATIONS_FR)
def test_french_organisations_are_found(
    analyzer: PiiAnalyzer, text: str, value: str
) -> None:
    assert ("ORGANIZATION", value) in _found(analyzer, text)


@pytest.mark.parametrize(
    "text",
    [
        "Rendez-vous de suivi avec le Dr Deloumeau",  # "a" + "vec"
        "Au début du suivi Paramètres vitaux",  # "Par" + "amètres"
        "admis aux urgences le lendemain",  # "a" + "ux"
        "Service de cardiologie desormais fermé",
    ],
)
def test_a_preposition_is_a_whole_word_before_a_care_place(
    analyzer: PiiAnalyzer, text: str
) -> None:
    assert [v for k, v in _found(analyzer, text) if k == "ORGANIZATION"] == []


def test_an_acronym_after_a_verb_of_care_is_no_organisation(
    analyzer: PiiAnalyzer,
) -> None:
    assert _found(analyzer, "Adressé par le SAMU pour malaise") == []


def test_a_domain_is_a_url_but_not_a_file_or_an_initial(
    analyzer: PiiAnalyzer,
) -> None:
    text = "voir dupont-plomberie.fr, rapport.pdf et l'A.CHENEVIER"
    assert ("URL", "dupont-plomberie.fr") in _found(analyzer, text)
    assert [v for k, v in _found(analyzer, text) if k == "URL"] == [
        "dupont-plomberie.fr"
    ]


def test_no_recognizer_of_ours_takes_a_presidio_class_name(
    analyzer: PiiAnalyzer,
) -> None:
    # Presidio finds its default recognizers by class name among every
    # subclass loaded: a namesake of ours would replace its own.
    from presidio_analyzer import predefined_recognizers

    theirs = {n for n in dir(predefined_recognizers) if n.endswith("Recognizer")}
    ours = {type(r).__name__ for r in analyzer.engine.registry.recognizers}
    assert not ours & theirs - {"IpRecognizer", "UsSsnRecognizer"}
