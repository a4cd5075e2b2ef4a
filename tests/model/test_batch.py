"""Padding (suho.model.batch), on hand-written sequences."""

import torch

from suho.model.batch import PaddedBatch, by_length, pad


def test_pad_right_pads_every_row_to_the_longest():
    assert pad([[5, 6, 7], [8]], 0).tolist() == [[5, 6, 7], [8, 0, 0]]
    assert pad([[1, 2]], -100).dtype == torch.long


def test_padded_batch_masks_the_padding_and_finds_each_row_s_last_tokens():
    b = PaddedBatch.of([[5, 6, 7], [8]], pad_id=0)
    assert b.input_ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert b.attention_mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    hidden = torch.arange(6.0).view(2, 3, 1)  # (B, T, H): position t of row r holds 3r + t
    assert b.at(hidden).flatten().tolist() == [2.0, 3.0]  # the last real token: row 0 at t=2, row 1 at t=0
    assert b.at(hidden, 2)[0].item() == 1.0  # the one before it


def test_by_length_groups_indices_in_length_order():
    assert by_length([3, 1, 2, 1], 2) == [[1, 3], [2, 0]]
    assert by_length([], 4) == []
