"""Valid French identifiers made for tests, checksums from python-stdnum."""

from stdnum import iban, luhn
from stdnum.fr import nir, siren, tva


def make_nir(sex: int, year: int, month: int, dept: str, serial: int) -> str:
    """A valid NIR (15 characters), Corsica ("2A", "2B") included."""
    body = f"{sex}{year % 100:02d}{month:02d}{dept}{serial:06d}"
    return body + nir.calc_check_digits(body + "00")


def make_siren(serial: int) -> str:
    """A valid SIREN: eight digits and a Luhn check digit."""
    body = f"{serial:08d}"
    return body + luhn.calc_check_digit(body)


def make_siret(siren_number: str, establishment: int) -> str:
    """A valid SIRET: the SIREN, a 4-digit establishment and a Luhn digit."""
    body = f"{siren_number}{establishment:04d}"
    return body + luhn.calc_check_digit(body)


def make_vat(siren_number: str) -> str:
    """The French VAT number of a SIREN."""
    key = (12 + 3 * (int(siren_number) % 97)) % 97  # stdnum checks it, not makes it
    vat = f"FR{key:02d}{siren_number}"
    assert tva.is_valid(vat)  # noqa: S101 - the formula is ours, stdnum judges
    return vat


def make_iban(country: str, bban: str) -> str:
    """A valid IBAN for a BBAN."""
    return country + iban.calc_check_digits(country + "00" + bban) + bban


def make_card(prefix: str, length: int = 16) -> str:
    """A Luhn-valid card number."""
    body = prefix + "0" * (length - 1 - len(prefix))
    return body + luhn.calc_check_digit(body)


def group(value: str, size: int = 4) -> str:
    """A value written in groups, as people do ("FR76 3000 ...")."""
    return " ".join(value[i : i + size] for i in range(0, len(value), size))


assert siren.is_valid(make_siren(73282932))  # noqa: S101 - a self-check at import
