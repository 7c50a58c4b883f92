"""Task maps <-> token views, and gathering rows of concatenated segments."""

import torch

from mmkem.models.layers import gather_tokens, is_channel_first, merge_tokens, split_tokens


def test_split_and_merge_are_views_and_round_trip():
    feats = [torch.randn(2, 4, 3, 5), torch.randn(2, 4, 3, 5)]
    tokens = split_tokens(feats)
    assert [t.shape for t in tokens] == [(2, 15, 4)] * 2
    assert all(is_channel_first(t) for t in tokens)
    assert all(t.data_ptr() == f.data_ptr() for t, f in zip(tokens, feats))  # no copy
    torch.testing.assert_close(tokens[0], feats[0].flatten(2).transpose(1, 2).contiguous())
    back = merge_tokens(tokens, feats)
    assert all(torch.equal(b, f) and b.data_ptr() == f.data_ptr() for b, f in zip(back, feats))
    assert not is_channel_first(torch.randn(2, 15, 4))


def test_gather_tokens_equals_gathering_the_concatenation():
    gen = torch.Generator().manual_seed(0)
    tokens = [torch.randn(2, n, 3, generator=gen) for n in (4, 1, 6)]
    tokens[2] = tokens[2].mT.contiguous().mT  # layouts may differ between segments
    index = torch.randint(0, 11, (2, 9), generator=gen)
    expected = torch.cat(tokens, dim=1).gather(1, index.unsqueeze(-1).expand(-1, -1, 3))
    assert torch.equal(gather_tokens(tokens, index), expected)
