"""The classes of PASCAL-Context's full label maps and the ones ASTMT keeps surface normals on.

The release's ``pascal-context/trainval/<id>.mat`` files hold ``LabelMap``: the 459 classes of
PASCAL-Context (Mottaghi et al. 2014), id ``i`` = ``PASCAL_CONTEXT_459_CLASSES[i - 1]`` (the
classes in alphabetical order, as the dataset's ``labels.txt``; 0 is unlabelled).

The release's distilled normals (``normals_distill/``) come from a network trained on NYUD-v2,
so ASTMT (Maninis et al. 2019; ``fblib/dataloaders/pascal_context.py`` of
github.com/facebookresearch/astmt, ``_load_normals_distilled``) keeps them only on pixels of the
PASCAL-Context classes that NYUD-v2 also labels: every name of its ``nyu_classes.json`` (the 894
NYUD-v2 label names) that is a key of ``context_classes.json`` (the 459 names above), except
``'unknown'``, plus ``'tvmonitor'`` (NYUD calls it ``'television'``). MTI-Net, ATRC, InvPT and
TaskPrompter use the same rule and the same two files. :data:`NORMALS_VALID_CLASSES` is the result
of that rule: 170 names.
"""

from typing import Tuple

import numpy as np

__all__ = ['NORMALS_VALID_CLASSES', 'PASCAL_CONTEXT_459_CLASSES', 'normals_valid_labels']

#: The 459 classes of PASCAL-Context's ``LabelMap``: id ``i`` is entry ``i - 1``.
# fmt: off
PASCAL_CONTEXT_459_CLASSES: Tuple[str, ...] = (
    'accordion', 'aeroplane', 'air conditioner', 'antenna', 'artillery', 'ashtray', 'atrium',
    'baby carriage', 'bag', 'ball', 'balloon', 'bamboo weaving', 'barrel', 'baseball bat', 'basket',
    'basketball backboard', 'bathtub', 'bed', 'bedclothes', 'beer', 'bell', 'bench', 'bicycle',
    'binoculars', 'bird', 'bird cage', 'bird feeder', 'bird nest', 'blackboard', 'board', 'boat',
    'bone', 'book', 'bottle', 'bottle opener', 'bowl', 'box', 'bracelet', 'brick', 'bridge',
    'broom', 'brush', 'bucket', 'building', 'bus', 'cabinet', 'cabinet door', 'cage', 'cake',
    'calculator', 'calendar', 'camel', 'camera', 'camera lens', 'can', 'candle', 'candle holder',
    'cap', 'car', 'card', 'cart', 'case', 'casette recorder', 'cash register', 'cat', 'cd',
    'cd player', 'ceiling', 'cell phone', 'cello', 'chain', 'chair', 'chessboard', 'chicken',
    'chopstick', 'clip', 'clippers', 'clock', 'closet', 'cloth', 'clothes tree', 'coffee',
    'coffee machine', 'comb', 'computer', 'concrete', 'cone', 'container', 'control booth',
    'controller', 'cooker', 'copying machine', 'coral', 'cork', 'corkscrew', 'counter', 'court',
    'cow', 'crabstick', 'crane', 'crate', 'cross', 'crutch', 'cup', 'curtain', 'cushion',
    'cutting board', 'dais', 'disc', 'disc case', 'dishwasher', 'dock', 'dog', 'dolphin', 'door',
    'drainer', 'dray', 'drink dispenser', 'drinking machine', 'drop', 'drug', 'drum', 'drum kit',
    'duck', 'dumbbell', 'earphone', 'earrings', 'egg', 'electric fan', 'electric iron',
    'electric pot', 'electric saw', 'electronic keyboard', 'engine', 'envelope', 'equipment',
    'escalator', 'exhibition booth', 'extinguisher', 'eyeglass', 'fan', 'faucet', 'fax machine',
    'fence', 'ferris wheel', 'fire extinguisher', 'fire hydrant', 'fire place', 'fish', 'fish tank',
    'fishbowl', 'fishing net', 'fishing pole', 'flag', 'flagstaff', 'flame', 'flashlight', 'floor',
    'flower', 'fly', 'foam', 'food', 'footbridge', 'forceps', 'fork', 'forklift', 'fountain', 'fox',
    'frame', 'fridge', 'frog', 'fruit', 'funnel', 'furnace', 'game controller', 'game machine',
    'gas cylinder', 'gas hood', 'gas stove', 'gift box', 'glass', 'glass marble', 'globe', 'glove',
    'goal', 'grandstand', 'grass', 'gravestone', 'ground', 'guardrail', 'guitar', 'gun', 'hammer',
    'hand cart', 'handle', 'handrail', 'hanger', 'hard disk drive', 'hat', 'hay', 'headphone',
    'heater', 'helicopter', 'helmet', 'holder', 'hook', 'horse', 'horse-drawn carriage',
    'hot-air balloon', 'hydrovalve', 'ice', 'inflator pump', 'ipod', 'iron', 'ironing board', 'jar',
    'kart', 'kettle', 'key', 'keyboard', 'kitchen range', 'kite', 'knife', 'knife block', 'ladder',
    'ladder truck', 'ladle', 'laptop', 'leaves', 'lid', 'life buoy', 'light', 'light bulb',
    'lighter', 'line', 'lion', 'lobster', 'lock', 'machine', 'mailbox', 'mannequin', 'map', 'mask',
    'mat', 'match book', 'mattress', 'menu', 'metal', 'meter box', 'microphone', 'microwave',
    'mirror', 'missile', 'model', 'money', 'monkey', 'mop', 'motorbike', 'mountain', 'mouse',
    'mouse pad', 'musical instrument', 'napkin', 'net', 'newspaper', 'oar', 'ornament', 'outlet',
    'oven', 'oxygen bottle', 'pack', 'pan', 'paper', 'paper box', 'paper cutter', 'parachute',
    'parasol', 'parterre', 'patio', 'pelage', 'pen', 'pen container', 'pencil', 'person', 'photo',
    'piano', 'picture', 'pig', 'pillar', 'pillow', 'pipe', 'pitcher', 'plant', 'plastic', 'plate',
    'platform', 'player', 'playground', 'pliers', 'plume', 'poker', 'poker chip', 'pole',
    'pool table', 'postcard', 'poster', 'pot', 'pottedplant', 'printer', 'projector', 'pumpkin',
    'rabbit', 'racket', 'radiator', 'radio', 'rail', 'rake', 'ramp', 'range hood', 'receiver',
    'recorder', 'recreational machines', 'remote control', 'road', 'robot', 'rock', 'rocket',
    'rocking horse', 'rope', 'rug', 'ruler', 'runway', 'saddle', 'sand', 'saw', 'scale', 'scanner',
    'scissors', 'scoop', 'screen', 'screwdriver', 'sculpture', 'scythe', 'sewer', 'sewing machine',
    'shed', 'sheep', 'shell', 'shelves', 'shoe', 'shopping cart', 'shovel', 'sidecar', 'sidewalk',
    'sign', 'signal light', 'sink', 'skateboard', 'ski', 'sky', 'sled', 'slippers', 'smoke',
    'snail', 'snake', 'snow', 'snowmobiles', 'sofa', 'spanner', 'spatula', 'speaker', 'speed bump',
    'spice container', 'spoon', 'sprayer', 'squirrel', 'stage', 'stair', 'stapler', 'stick',
    'sticky note', 'stone', 'stool', 'stove', 'straw', 'stretcher', 'sun', 'sunglass', 'sunshade',
    'surveillance camera', 'swan', 'sweeper', 'swim ring', 'swimming pool', 'swing', 'switch',
    'table', 'tableware', 'tank', 'tap', 'tape', 'tarp', 'telephone', 'telephone booth', 'tent',
    'tire', 'toaster', 'toilet', 'tong', 'tool', 'toothbrush', 'towel', 'toy', 'toy car', 'track',
    'train', 'trampoline', 'trash bin', 'tray', 'tree', 'tricycle', 'tripod', 'trophy', 'truck',
    'tube', 'turtle', 'tvmonitor', 'tweezers', 'typewriter', 'umbrella', 'unknown',
    'vacuum cleaner', 'vending machine', 'video camera', 'video game console', 'video player',
    'video tape', 'violin', 'wakeboard', 'wall', 'wallet', 'wardrobe', 'washing machine', 'watch',
    'water', 'water dispenser', 'water pipe', 'water skate board', 'watermelon', 'whale', 'wharf',
    'wheel', 'wheelchair', 'window', 'window blinds', 'wineglass', 'wire', 'wood', 'wool',
)
# fmt: on

#: The classes on which ASTMT keeps the distilled normals (see the module docstring), in id order.
# fmt: off
NORMALS_VALID_CLASSES: Tuple[str, ...] = (
    'air conditioner', 'antenna', 'ashtray', 'bag', 'ball', 'balloon', 'barrel', 'basket',
    'bathtub', 'bed', 'bench', 'bicycle', 'blackboard', 'board', 'book', 'bottle', 'bowl', 'box',
    'bracelet', 'brick', 'broom', 'bucket', 'cabinet', 'cake', 'calculator', 'calendar', 'camera',
    'can', 'candle', 'car', 'cart', 'case', 'cat', 'cd', 'ceiling', 'cell phone', 'chair',
    'chessboard', 'clock', 'coffee machine', 'comb', 'computer', 'cone', 'container', 'corkscrew',
    'counter', 'crate', 'cup', 'curtain', 'cutting board', 'dishwasher', 'dog', 'door', 'drum',
    'duck', 'envelope', 'fan', 'faucet', 'fax machine', 'fire extinguisher', 'fish tank', 'flag',
    'flashlight', 'floor', 'flower', 'fork', 'fruit', 'furnace', 'glass', 'globe', 'glove',
    'guitar', 'hammer', 'handle', 'hanger', 'hat', 'heater', 'ipod', 'ironing board', 'jar', 'key',
    'keyboard', 'knife', 'ladder', 'laptop', 'lid', 'light', 'light bulb', 'lock', 'machine', 'map',
    'mask', 'mattress', 'microphone', 'microwave', 'mirror', 'money', 'mouse', 'mouse pad',
    'napkin', 'oven', 'pan', 'paper', 'paper cutter', 'pen', 'pencil', 'person', 'photo', 'piano',
    'picture', 'pig', 'pillow', 'pipe', 'pitcher', 'plant', 'plate', 'pool table', 'pot', 'printer',
    'projector', 'radiator', 'radio', 'range hood', 'remote control', 'rope', 'rug', 'ruler',
    'scale', 'sculpture', 'sewing machine', 'shelves', 'shoe', 'shopping cart', 'shovel', 'sign',
    'sink', 'sofa', 'spatula', 'speaker', 'spoon', 'stapler', 'stick', 'stool', 'stove', 'table',
    'tape', 'telephone', 'tent', 'toaster', 'toilet', 'toothbrush', 'towel', 'toy', 'toy car',
    'trampoline', 'tray', 'tricycle', 'trophy', 'tvmonitor', 'typewriter', 'umbrella',
    'vacuum cleaner', 'wall', 'wallet', 'wardrobe', 'washing machine', 'watch', 'water dispenser',
    'window', 'wire',
)
# fmt: on


def normals_valid_labels() -> np.ndarray:
    """``LabelMap`` ids of :data:`NORMALS_VALID_CLASSES`, sorted (int64, 170 values)."""
    index = {name: i + 1 for i, name in enumerate(PASCAL_CONTEXT_459_CLASSES)}
    return np.array(sorted(index[name] for name in NORMALS_VALID_CLASSES), dtype=np.int64)
