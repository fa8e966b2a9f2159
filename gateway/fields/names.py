"""Field names that may be echoed back: a key is shown only if shaped like one."""

import re

FIELD_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
UNNAMED = "<unrecognised key>"


def reportable_name(key: str) -> str:
    """An unknown key as it may be echoed: only names shaped like field names.

    A partner who puts a value where a key belongs (`{"jean@x.fr": 1}`) must
    not see it come back in an error.
    """
    return key if FIELD_NAME_PATTERN.fullmatch(key) else UNNAMED
