"""Key rotation: a new key, and the stored data brought over to it."""

from gateway.keys.retire import RetireReport, retire_masters
from gateway.keys.rotation import KeyKind, RotationReport, rotate

__all__ = ["KeyKind", "RetireReport", "RotationReport", "retire_masters", "rotate"]
