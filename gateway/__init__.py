"""Consent Gateway: consent-checked, pseudonymizing ingestion for segmentation."""

__version__ = "0.1.0"
