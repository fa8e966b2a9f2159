"""The vault: records' direct personal data, sealed under per-subject data keys.

Ingestion writes entries, the DPO's access and re-identification read them,
key rotation re-keys them, the linkage backfill reopens them; erasure
destroys the data key. None of those owns it: they all come here.
"""

from gateway.vault.entries import VaultWriter, open_entry, subject_ciphers, vault_aad

__all__ = ["VaultWriter", "open_entry", "subject_ciphers", "vault_aad"]
