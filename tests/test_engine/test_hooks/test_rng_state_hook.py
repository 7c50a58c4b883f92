"""RNGStateHook: torch's random stream survives a resume and is not shifted by validation."""

from types import SimpleNamespace

import pytest
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


class _OnAnotherDevice:
    """An RNG state as ``torch.load(map_location='cuda')`` hands it over: not a CPU tensor,
    which ``torch.set_rng_state`` rejects; ``.cpu()`` gives the bytes back."""

    def __init__(self, state):
        self._state = state
        self.device = torch.device('cuda', 0)

    def cpu(self):
        return self._state


def test_states_loaded_onto_another_device_are_restored_from_cpu_copies():
    hook = RNGStateHook()
    torch.manual_seed(3)
    checkpoint = dict(meta=dict(iter=2))
    hook.before_save_checkpoint(None, checkpoint)
    expected = torch.rand(3)
    with pytest.raises((TypeError, RuntimeError)):
        torch.set_rng_state(_OnAnotherDevice(checkpoint['rng_state']['torch']))  # as before
    checkpoint['rng_state']['torch'] = _OnAnotherDevice(checkpoint['rng_state']['torch'])
    torch.manual_seed(3)
    resumed = RNGStateHook()
    resumed.after_load_checkpoint(None, checkpoint)
    resumed.before_train_iter(SimpleNamespace(iter=2), batch_idx=2)
    torch.testing.assert_close(torch.rand(3), expected)


def _as_rank(monkeypatch, rank, world_size):
    from mmkem.engine.hooks import rng_state_hook

    monkeypatch.setattr(rng_state_hook, 'get_rank', lambda: rank)
    monkeypatch.setattr(rng_state_hook, 'get_world_size', lambda: world_size)


def test_a_checkpoint_with_per_rank_states_gives_each_process_its_own(monkeypatch):
    states = []
    for seed in (10, 11):  # two processes' streams
        torch.manual_seed(seed)
        states.append(dict(torch=torch.get_rng_state()))
    torch.manual_seed(11)
    expected_rank1 = torch.rand(3)
    checkpoint = dict(meta=dict(iter=5), rng_state=dict(states[0], per_rank=states))
    _as_rank(monkeypatch, 1, 2)
    torch.manual_seed(0)
    hook = RNGStateHook()
    hook.after_load_checkpoint(None, checkpoint)
    hook.before_train_iter(SimpleNamespace(iter=5), batch_idx=5)
    torch.testing.assert_close(torch.rand(3), expected_rank1)


def test_saving_does_not_communicate(monkeypatch):
    """mmengine calls before_save_checkpoint on the first process only: a collective there would
    wait forever for the others."""
    from mmkem.engine.hooks import rng_state_hook

    _as_rank(monkeypatch, 0, 2)
    assert not hasattr(rng_state_hook, 'all_gather_object')
    checkpoint = dict(meta=dict(iter=1))
    RNGStateHook().before_save_checkpoint(None, checkpoint)
    assert set(checkpoint['rng_state']) <= {'torch', 'cuda'}


def test_a_checkpoint_of_another_process_count_leaves_the_stream_alone(monkeypatch):
    torch.manual_seed(1)
    checkpoint = dict(meta=dict(iter=5))
    RNGStateHook().before_save_checkpoint(None, checkpoint)  # one process
    _as_rank(monkeypatch, 1, 2)
    torch.manual_seed(9)
    reference = torch.rand(3)
    torch.manual_seed(9)
    hook = RNGStateHook()
    with pytest.warns(UserWarning, match='random state of 1 process'):
        hook.after_load_checkpoint(None, checkpoint)
    hook.before_train_iter(SimpleNamespace(iter=5), batch_idx=5)
    torch.testing.assert_close(torch.rand(3), reference)


@pytest.mark.cuda
def test_cuda_checkpoint_states_restore_after_map_location(tmp_path):
    """The real case: states saved with CUDA in use, loaded with map_location='cuda'."""
    torch.zeros(1, device='cuda')  # CUDA initialised: its states are saved too
    torch.manual_seed(4)
    checkpoint = dict(meta=dict(iter=3))
    RNGStateHook().before_save_checkpoint(None, checkpoint)
    expected = torch.rand(3), torch.rand(3, device='cuda')
    torch.save(checkpoint, tmp_path / 'ckpt.pth')
    loaded = torch.load(tmp_path / 'ckpt.pth', map_location='cuda', weights_only=False)
    assert loaded['rng_state']['torch'].is_cuda
    torch.manual_seed(4)
    hook = RNGStateHook()
    hook.after_load_checkpoint(None, loaded)
    hook.before_train_iter(SimpleNamespace(iter=3), batch_idx=3)
    torch.testing.assert_close(torch.rand(3), expected[0])
    torch.testing.assert_close(torch.rand(3, device='cuda'), expected[1])
