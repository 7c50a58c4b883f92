"""The grid of a sweep: ``--grid key=v1,v2,...`` axes, seeds, config-key checks and run names.

A sweep (:mod:`mmkem.analysis.sweep`) trains one config at every point of the cartesian product of
its axes and seeds; this module turns the command-line text into those runs, each with its
directory name and ``--cfg-options``.
"""

import argparse
import itertools
import os.path as osp
import re
from typing import List, Optional, Sequence

__all__ = [
    'SEED_KEY',
    'GridAxis',
    'build_runs',
    'check_keys',
    'lookup',
    'parse_grid',
    'parse_seeds',
    'parse_value',
    'safe',
    'short_names',
    'split_top_level',
]

SEED_KEY = 'randomness.seed'


class GridAxis:
    """One ``--grid key=v1,v2,...`` axis.

    Args:
        key (str): Dotted config key, as ``--cfg-options`` takes it
            (``model.interaction.num_slots``).
        raw (Sequence[str]): The values as typed; passed unchanged to the train script so that
            they are parsed there exactly as here.
        values (Sequence): The parsed values (ints, floats, bools, None, strings, tuples, lists).
    """

    def __init__(self, key: str, raw: Sequence[str], values: Sequence):
        self.key = key
        self.raw = list(raw)
        self.values = list(values)

    def __repr__(self) -> str:
        return f'GridAxis({self.key!r}, {self.values!r})'


def split_top_level(text: str) -> List[str]:
    """Split ``text`` at the commas that are not inside brackets: ``'(1,2),3'`` -> 2 items."""
    items, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in '([':
            depth += 1
        elif char in ')]':
            depth -= 1
            if depth < 0:
                raise ValueError(f'unbalanced brackets in {text!r}')
        elif char == ',' and depth == 0:
            items.append(text[start:i])
            start = i + 1
    if depth != 0:
        raise ValueError(f'unbalanced brackets in {text!r}')
    items.append(text[start:])
    return items


def parse_value(text: str):
    """Parse one value as mmengine's ``DictAction`` parses ``--cfg-options key=text``.

    ``'5'`` -> 5, ``'0.1'`` -> 0.1, ``'true'`` -> True, ``'None'`` -> None, ``'(1,2)'`` ->
    (1, 2), ``'[1,2]'`` -> [1, 2], anything else stays a string.
    """
    from mmengine.config import DictAction

    # DictAction's own entry point, so that the parsing cannot drift from mmengine's.
    namespace = argparse.Namespace()
    DictAction(option_strings=[], dest='value')(None, namespace, [f'key={text}'])
    return namespace.value['key']


def parse_grid(specs: Sequence[str]) -> List[GridAxis]:
    """Parse ``--grid`` arguments ``key=v1,v2,...`` into axes.

    Values are separated by the commas outside brackets, so ``key=(1,2),(3,4)`` has two tuple
    values and ``key=[1,2]`` one list value.

    Raises:
        ValueError: An axis without ``=``, with an empty key or value, or a key given twice.
    """
    axes, seen = [], set()
    for spec in specs:
        if '=' not in spec:
            raise ValueError(
                f'--grid {spec!r} has no "=": write key=value1,value2,... '
                '(e.g. model.interaction.num_slots=5,10,20)'
            )
        key, text = spec.split('=', 1)
        key = key.strip()
        if not key:
            raise ValueError(f'--grid {spec!r} has an empty key before "="')
        if key in seen:
            raise ValueError(f'--grid key {key!r} is given twice; put all its values in one axis')
        if key == SEED_KEY:
            raise ValueError(f'--grid {key!r}: give the seeds with --seeds instead')
        seen.add(key)
        raw = [item.strip() for item in split_top_level(text)]
        if not text.strip() or any(not item for item in raw):
            raise ValueError(
                f'--grid key {key!r} has an empty value in {text!r}: write {key}=v1,v2,...'
            )
        axes.append(GridAxis(key, raw, [parse_value(item) for item in raw]))
    return axes


def parse_seeds(seeds: Sequence[str]) -> List[int]:
    """Seeds as ints; a clear error naming the one that is not an integer."""
    parsed = []
    for seed in seeds:
        try:
            parsed.append(int(seed))
        except ValueError:
            raise ValueError(f'--seeds takes integers, got {seed!r}') from None
    if len(set(parsed)) != len(parsed):
        raise ValueError(f'--seeds has duplicates: {list(seeds)}')
    return parsed


def lookup(cfg, key: str):
    """The value of a dotted ``key`` in a config (list items by index, as --cfg-options).

    Raises:
        KeyError: Naming the key and the longest prefix that exists.
    """
    node, done = cfg, []
    for part in key.split('.'):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif hasattr(node, 'keys') and part in node.keys():
            node = node[part]
        else:
            where = '.'.join(done) or 'the top level'
            keys = sorted(map(str, node.keys())) if hasattr(node, 'keys') else None
            hint = f' (keys there: {", ".join(keys)})' if keys else ''
            raise KeyError(f'{key!r}: {where} has no {part!r}{hint}')
        done.append(part)
    return node


def check_keys(config: str, axes: Sequence[GridAxis], cfg_options: Optional[dict] = None):
    """Load ``config`` with mmengine (plus ``cfg_options``) and check every grid key exists.

    Returns:
        Config: The loaded config.

    Raises:
        ValueError: Naming the first grid key that the config does not have.
    """
    from mmengine.config import Config

    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config!r} does not exist')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    for axis in axes:
        try:
            lookup(cfg, axis.key)
        except KeyError as e:
            raise ValueError(
                f'--grid key {axis.key!r} is not in the config {config}: {e.args[0]}'
            ) from None
    return cfg


def short_names(keys: Sequence[str]) -> List[str]:
    """The shortest dotted suffix of each key that tells the keys apart (``num_slots``)."""
    parts = [key.split('.') for key in keys]
    names = []
    for i, key_parts in enumerate(parts):
        for n in range(1, len(key_parts) + 1):
            name = '.'.join(key_parts[-n:])
            others = ['.'.join(p[-n:]) for j, p in enumerate(parts) if j != i]
            if name not in others:
                break
        names.append(name)
    return names


def safe(text: str) -> str:
    """A value as a piece of a directory name (no path separators, spaces or brackets)."""
    return re.sub(r'[^A-Za-z0-9._+\-]', '_', text)


def build_runs(axes: Sequence[GridAxis], seeds: Sequence[int]) -> List[dict]:
    """The cartesian product of the axes and the seeds, seed varying fastest.

    Returns:
        list[dict]: Per run: ``name`` (``num_slots=5,topk=1,seed=0``), ``point`` (short axis
        name -> raw value, without the seed), ``options`` (``key=raw`` strings for
        --cfg-options, seed included) and ``seed``.

    Raises:
        ValueError: Two grid values that give the same run name.
    """
    names = short_names([axis.key for axis in axes])
    runs, seen = [], {}
    for combo in itertools.product(*[axis.raw for axis in axes]):
        for seed in seeds:
            pieces = [f'{n}={safe(v)}' for n, v in zip(names, combo)] + [f'seed={seed}']
            name = ','.join(pieces)
            if name in seen:
                raise ValueError(
                    f'grid values {seen[name]} and {list(combo)} give the same run directory '
                    f'{name!r}; make them differ in letters or digits'
                )
            seen[name] = list(combo)
            options = [f'{axis.key}={v}' for axis, v in zip(axes, combo)]
            runs.append(
                dict(
                    name=name,
                    point=dict(zip(names, combo)),
                    options=options + [f'{SEED_KEY}={seed}'],
                    seed=seed,
                )
            )
    return runs
