"""RNGStateHook: torch's random stream survives a resume and is not shifted by validation."""

from types import SimpleNamespace

import torch

from mmkem.engine import RNGStateHook


def test_validation_does_not_shift_the_training_stream():
    hook = RNGStateHook()
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    hook.before_val(None)
    torch.rand(100)  # a validation loader draws a seed, a model samples ...
    hook.after_val(None)
    torch.testing.assert_close(torch.rand(3), expected)


def test_state_saved_and_restored_only_at_the_resumed_iteration():
    hook = RNGStateHook()
    torch.manual_seed(1)
    torch.rand(5)
    checkpoint = dict(meta=dict(iter=4))
    hook.before_save_checkpoint(None, checkpoint)
    expected = torch.rand(3)  # what iteration 5 of the uninterrupted run draws

    # Resume: a fresh process re-seeds, loads the checkpoint, replays the loader, then trains.
    torch.manual_seed(1)
    resumed = RNGStateHook()
    resumed.after_load_checkpoint(None, checkpoint)
    resumed.before_train_iter(SimpleNamespace(iter=4), batch_idx=4)
    torch.testing.assert_close(torch.rand(3), expected)

    # load_from (fine-tuning from iteration 0): the RNG is left alone.
    torch.manual_seed(7)
    reference = torch.rand(3)
    torch.manual_seed(7)
    fine_tune = RNGStateHook()
    fine_tune.after_load_checkpoint(None, checkpoint)
    fine_tune.before_train_iter(SimpleNamespace(iter=0), batch_idx=0)
    torch.testing.assert_close(torch.rand(3), reference)
    # ... and only the first iteration looks at the checkpoint.
    fine_tune.before_train_iter(SimpleNamespace(iter=4), batch_idx=4)
    assert fine_tune._resumed_state is None
