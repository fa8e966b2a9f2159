"""Dates and times, French and English: every date is personal data in context.

A date next to other facts (an admission, a contract, a visit) singles a
person out, so every calendar date is DATE_TIME, in every written form: digits
("13/09/2020", "13-8-91", "22.10.2027", ISO), words ("5 JUIN 1940", "le 3
juin", "juin 2019", "Mar, 13 Novembre 2046", "May 5th, 1990"), a clock time
written right after the date ("18/02/2019 16:34"). In English a clock time
alone ("at 5:45pm") counts too, as English NER and OntoNotes count it; in
French it does not ("arrivé à 10h00"), as French clinical annotation has it.

The same shapes are DATE_OF_BIRTH when a birth word comes before them ("née
le", "DOB"): that recognizer scores under the threshold without context, and
over DATE_TIME's score with it, so the birth reading wins the overlap.

Numeric candidates are checked (day 1-31, month 1-12), which also keeps
"1.10 g/L" or a version number out.
"""

import regex
from presidio_analyzer import Pattern, PatternRecognizer

# DATE_TIME's score; a birth date with its context word scores 0.3 + 0.35.
DATE_SCORE = 0.6
WEAK = 0.3

_FR_MONTHS = (
    r"janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre"
    r"|octobre|novembre|décembre|decembre"
    r"|janv\.?|févr\.?|fevr\.?|fév\.?|fev\.?|avr\.?|juil\.?|sept\.?|oct\.?|nov\.?"
    r"|déc\.?|dec\.?"
)
_FR_DAYS = (
    r"lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche"
    r"|lun\.?|mar\.?|mer\.?|jeu\.?|ven\.?|sam\.?|dim\.?"
)
_EN_MONTHS = (
    r"january|february|march|april|may|june|july|august|september|october"
    r"|november|december|jan\.?|feb\.?|mar\.?|apr\.?|jun\.?|jul\.?|aug\.?"
    r"|sept?\.?|oct\.?|nov\.?|dec\.?"
)
_EN_DAYS = (
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|mon\.?|tue\.?|tues\.?|wed\.?|thu\.?|thur\.?|thurs\.?|fri\.?|sat\.?|sun\.?"
)
_S = r"[ \u00a0]+"
_DAY = r"(?:1er|0?[1-9]|[12][0-9]|3[01])"
_EN_DAY = r"(?:0?[1-9]|[12][0-9]|3[01])(?:st|nd|rd|th)?"
_YEAR4 = r"(?:1[89]|2[0-9])[0-9]{2}"
# A clock time glued to a date: "16:34", "16h34", "16h", "4:30 pm".
_TIME = (
    r"(?:[ \u00a0]+(?:[01]?[0-9]|2[0-3])(?:[:h][0-5][0-9](?::[0-5][0-9])?|h)"
    r"(?:[ \u00a0]?[ap]\.?m\.?)?)"
)
# 13/09/2020, 8/07/76, 13-8-91, 22.10.2027: day first (French, British).
_NUMERIC_DMY = (
    r"(?<![0-9/.\-])(?:0?[1-9]|[12][0-9]|3[01])([/.\-])(?:0?[1-9]|1[0-2])\1"
    rf"(?:{_YEAR4}|[0-9]{{2}})(?![0-9]|[/.\-][0-9])"
)
# 09/13/2020: month first (American); only when the day is over 12 or the year
# has four digits, or it would read any d/m date twice.
_NUMERIC_MDY = (
    r"(?<![0-9/.\-])(?:0?[1-9]|1[0-2])([/.\-])(?:0?[1-9]|[12][0-9]|3[01])\1"
    rf"(?:{_YEAR4}|[0-9]{{2}})(?![0-9]|[/.\-][0-9])"
)
_ISO = (
    rf"(?<![0-9])(?:{_YEAR4})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"(?:T[0-2][0-9]:[0-5][0-9](?::[0-5][0-9])?)?(?![0-9])"
)
# Eight digits one by one, as some exports write them: "1 0 0 4 2 0 5 3".
_SPACED = r"(?<![0-9] ?)[0-3] [0-9] [01] [0-9] [12] [0-9] [0-9] [0-9](?! ?[0-9])"


def _fr_words() -> str:
    weekday = rf"(?:(?:{_FR_DAYS})[ \u00a0]*,?{_S})?"
    day_month = rf"{weekday}{_DAY}{_S}(?:{_FR_MONTHS})(?![\w])"
    return (
        rf"(?i:\b{day_month}(?:{_S}{_YEAR4})?(?![0-9])"
        rf"|\b(?:{_FR_MONTHS}){_S}{_YEAR4}(?![0-9]))"
    )


def _en_words() -> str:
    weekday = rf"(?:(?:{_EN_DAYS})[ \u00a0]*,?{_S})?"
    month_first = rf"{weekday}(?:{_EN_MONTHS}){_S}{_EN_DAY}(?:,?{_S}{_YEAR4})?"
    day_first = (
        rf"{weekday}(?:the{_S})?{_EN_DAY}(?:{_S}of)?{_S}(?:{_EN_MONTHS})"
        rf"(?:,?{_S}{_YEAR4})?"
    )
    month_year = rf"(?:{_EN_MONTHS}){_S}{_YEAR4}"
    return rf"(?i:\b(?:{month_first}|{day_first}|{month_year})(?![\w]))"


# English clock times alone ("at 5:45pm", "between 10am and 1pm", "15:15"):
# English NER reads them as TIME, and OntoNotes counts them as entities.
# French clinical annotation does not count a time without its date.
_CLOCK_EN = (
    r"(?i:\b(?:[01]?[0-9]|2[0-3])(?::[0-5][0-9])?[ \u00a0]?[ap]\.?m\.?(?![\w])"
    r"|(?<![0-9:.])(?:[01]?[0-9]|2[0-3]):[0-5][0-9](?![0-9:]))"
)


# A year alone after a word that makes it a date ("infarctus en 2015", "client
# depuis 2019", "since 2019"): not in a reference or an amount.
_YEAR_AFTER = {
    "fr": r"en|depuis|année|dès|jusqu['’]en|courant|fin|début|mi-",
    "en": r"in|since|until|year|early|late|mid-",
}


def _year_alone(language: str) -> str:
    cues = _YEAR_AFTER[language]
    return (
        rf"(?i:(?<=\b(?:{cues})[ \u00a0]?))(?:1[89]|20)[0-9]{{2}}"
        r"(?![0-9]|[ \u00a0]*(?i:€|euros?|eur|\$|dollars?|usd|km|kg|m²))"
    )


def _patterns(words: str, *, english: bool, score: float, clock: bool) -> list[Pattern]:
    numeric = [Pattern("date_dmy", _NUMERIC_DMY + f"{_TIME}?", score)]
    if english:
        numeric.append(Pattern("date_mdy", _NUMERIC_MDY + f"{_TIME}?", score))
    if english and clock:
        numeric.append(Pattern("clock_time", _CLOCK_EN, score))
    if clock:  # the date reading only: a birth year alone is rarely written so
        numeric.append(
            Pattern("year_alone", _year_alone("en" if english else "fr"), score)
        )
    return [
        *numeric,
        Pattern("date_iso", _ISO + f"{_TIME}?", score),
        Pattern("date_spaced", _SPACED, score),
        Pattern("date_words", words + f"{_TIME}?", score),
    ]


_SPACED_DIGITS = regex.compile(r"[0-9]")


def _valid_spaced(text: str) -> bool:
    digits = "".join(_SPACED_DIGITS.findall(text))
    day, month = int(digits[:2]), int(digits[2:4])
    return 1 <= day <= 31 and 1 <= month <= 12


BIRTH_CONTEXT = {
    "fr": ["né", "née", "nés", "nées", "nee", "naissance", "ddn", "naît", "naquit",
           "anniversaire"],
    "en": ["born", "birth", "dob", "birthday", "d.o.b", "birthdate"],
}  # fmt: skip


class CalendarDateRecognizer(PatternRecognizer):
    """Every calendar date, in the forms the language writes them.

    Not named DateRecognizer: Presidio finds its default recognizers by class
    name among every subclass loaded, and would take ours for its own.

    As DATE_OF_BIRTH (`birth=True`), the same shapes score under the threshold
    alone and over DATE_TIME's score after a birth word ("née le", "DOB"),
    so the overlap is settled for the birth reading.
    """

    def __init__(self, supported_language: str, *, birth: bool = False) -> None:
        english = supported_language == "en"
        entity = "DATE_OF_BIRTH" if birth else "DATE_TIME"
        super().__init__(
            supported_entity=entity,
            name=f"{entity}_{supported_language}",
            supported_language=supported_language,
            patterns=_patterns(
                _en_words() if english else _fr_words(),
                english=english,
                score=WEAK if birth else DATE_SCORE,
                clock=not birth,
            ),
            context=BIRTH_CONTEXT[supported_language] if birth else [],
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        """Spaced digits must read as a day and a month; other shapes are checked.

        A valid reading keeps the pattern's score (None): True would lift both
        the date and the birth-date readings to 1.0 and tie them.
        """
        spaced = " " in pattern_text and pattern_text.replace(" ", "").isdigit()
        if spaced and not _valid_spaced(pattern_text):
            return False
        return None


def date_recognizers(language: str) -> list[PatternRecognizer]:
    """Dates of the language, as any date and as a birth date in context."""
    return [
        CalendarDateRecognizer(language),
        CalendarDateRecognizer(language, birth=True),
    ]
