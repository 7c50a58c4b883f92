"""BadAnnotationError and loading_problem: data errors told apart from bugs."""

import pickle

import pytest

from mmkem.datasets.transforms import PROBLEMS, BadAnnotationError, loading_problem
from mmkem.datasets.transforms.errors import bad_file


def test_bad_file_names_the_path_and_the_problem():
    err = bad_file('a/b.npy', 'depth implausible', 'values in the thousands')
    assert isinstance(err, ValueError) and str(err) == 'a/b.npy: values in the thousands'
    assert (err.path, err.problem) == ('a/b.npy', 'depth implausible')
    with pytest.raises(KeyError, match='not one of'):
        bad_file('a/b.npy', 'depth too deep', 'x')


def test_rebuilt_from_its_message_alone():
    """As torch re-raises a DataLoader worker's error, and as pickle sends it."""
    err = BadAnnotationError('Caught BadAnnotationError in DataLoader worker process 0.')
    assert err.problem == 'bad file' and err.path is None
    again = pickle.loads(pickle.dumps(bad_file('x.png', 'not binary', 'grey')))
    assert str(again) == 'x.png: grey'


def test_loading_problem():
    assert loading_problem(bad_file('x.png', 'size mismatch', 'a\nb')) == (
        'size mismatch',
        'x.png: a',
    )
    assert loading_problem(FileNotFoundError('no x.png')) == ('missing file', 'no x.png')
    assert loading_problem(PermissionError('x.png')) == ('unreadable file', 'x.png')
    problem, message = loading_problem(AssertionError('failed to load image: x.png'))
    assert problem == 'unreadable file' and message.startswith('failed to load image: x.png')
    for bug in (AssertionError('shapes differ'), KeyError('img'), ValueError('x'), TypeError()):
        assert loading_problem(bug) is None
    assert len(set(PROBLEMS)) == len(PROBLEMS)
