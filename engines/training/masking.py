"""Masked-LM inputs the way ESM was trained: 15% of the real residues chosen; of those 80% become
the mask token, 10% a random residue, 10% stay; the loss looks at the chosen positions only.

Seeded per step, so a rerun (the fp32 parity check) masks the same positions.
"""

from __future__ import annotations

import torch

from engines.sequences import STANDARD_RESIDUES
from engines.tokenizers import Tokenizer

MASK_FRACTION = 0.15
IGNORE = -100  # torch.nn.functional.cross_entropy's ignore_index


def residue_positions(input_ids: torch.Tensor, tokenizer: Tokenizer) -> torch.Tensor:
    """True where a token is a residue (not padding, not a special token)."""
    special = {tokenizer.pad_id, tokenizer.eos_id}
    if tokenizer.bos_id is not None:
        special.add(tokenizer.bos_id)
    keep = torch.ones_like(input_ids, dtype=torch.bool)
    for token in special:
        keep &= input_ids != token
    return keep


def residue_token_ids(tokenizer: Tokenizer) -> torch.Tensor:
    """Ids a randomly replaced position may take: the 20 standard residues."""
    ids = sorted({tokenizer.residue_table[ord(c)] for c in STANDARD_RESIDUES})
    return torch.tensor(ids, dtype=torch.int64)


def mask_tokens(
    input_ids: torch.Tensor, tokenizer: Tokenizer, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(masked input_ids, labels)``: labels hold the original id at chosen positions and
    ``IGNORE`` elsewhere. At least one position per batch is chosen."""
    if tokenizer.mask_id is None:
        raise ValueError(f"the {tokenizer.kind.value} tokenizer has no mask token")
    generator = torch.Generator().manual_seed(seed)
    host = input_ids.cpu()
    candidates = residue_positions(host, tokenizer)
    draw = torch.rand(host.shape, generator=generator)
    chosen = candidates & (draw < MASK_FRACTION)
    if not chosen.any():
        chosen.view(-1)[int(candidates.view(-1).nonzero()[0])] = True
    labels = torch.where(chosen, host, torch.full_like(host, IGNORE))
    action = torch.rand(host.shape, generator=generator)
    masked = host.clone()
    masked[chosen & (action < 0.8)] = tokenizer.mask_id
    replace = chosen & (action >= 0.8) & (action < 0.9)
    pool = residue_token_ids(tokenizer)
    picks = torch.randint(len(pool), host.shape, generator=generator)
    masked[replace] = pool[picks][replace]
    return masked.to(input_ids.device), labels.to(input_ids.device)
