"""Privacy-preserving record linkage: keyed Bloom-filter encodings and block keys."""

from gateway.linkage.blocking import BlockingSpec, BlockKeyer, block_keys, phonetic
from gateway.linkage.clk import (
    FIELDS,
    ClkEncoder,
    ClkSpec,
    clk_matrix,
    derive_key,
    dice,
    dice_many,
    encode_clk,
    field_tokens,
    fold_text,
    popcounts,
)

__all__ = [
    "FIELDS",
    "BlockKeyer",
    "BlockingSpec",
    "ClkEncoder",
    "ClkSpec",
    "block_keys",
    "clk_matrix",
    "derive_key",
    "dice",
    "dice_many",
    "encode_clk",
    "field_tokens",
    "fold_text",
    "phonetic",
    "popcounts",
]
