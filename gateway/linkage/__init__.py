"""Privacy-preserving record linkage: per-field keyed encodings, sealed at rest."""
