"""Data-subject rights for the DPO: access and portability, erasure, reidentify."""
