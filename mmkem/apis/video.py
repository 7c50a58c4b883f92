"""What ``tools/infer.py`` runs: images, folders, videos and frame folders through the inferencer.

A video file (read with mmcv's ``VideoReader``) or a folder of frames (``frames=True``) gives, next
to the per-frame files of :class:`~mmkem.apis.MultiTaskInferencer`, one video per task
(``<task>.mp4``, the task's pictures) and ``panels.mp4``, written with OpenCV's ``mp4v`` codec.
"""

import os
import os.path as osp
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import cv2
import mmcv
import numpy as np

from .inputs import list_images
from .multi_task_inferencer import MultiTaskInferencer

__all__ = ['VIDEO_EXTENSIONS', 'infer_inputs', 'infer_video', 'is_video', 'write_video']

#: File extensions read as videos.
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg')


def is_video(path: str) -> bool:
    """Whether ``path`` is a video file (by its extension)."""
    return osp.isfile(path) and osp.splitext(path)[1].lower() in VIDEO_EXTENSIONS


def write_video(frames: Iterable[str], out_file: str, fps: float, fourcc: str = 'mp4v') -> str:
    """Write the image files ``frames`` (in order) as a video; return ``out_file``.

    Frames of another size than the first are resized to it.

    Raises:
        OSError: OpenCV cannot open a writer for ``out_file`` with ``fourcc``.
        ValueError: No frame.
    """
    writer, size = None, None
    try:
        for path in frames:
            frame = mmcv.imread(path)
            if writer is None:
                size = (frame.shape[1], frame.shape[0])
                os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
                writer = cv2.VideoWriter(out_file, cv2.VideoWriter_fourcc(*fourcc), fps, size)
                if not writer.isOpened():
                    raise OSError(f'OpenCV cannot write {out_file} with the {fourcc!r} codec')
            if (frame.shape[1], frame.shape[0]) != size:
                frame = cv2.resize(frame, size, interpolation=cv2.INTER_NEAREST)
            writer.write(frame)
    finally:
        if writer is not None:
            writer.release()
    if writer is None:
        raise ValueError(f'no frame to write to {out_file}')
    return out_file


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def infer_video(
    inferencer: MultiTaskInferencer,
    source,
    out_dir: str,
    fps: Optional[float] = None,
    batch_size: int = 1,
    chunk_size: int = 16,
) -> Dict[str, str]:
    """Predict every frame of a video file or of a list of frame files; write a video per task.

    Frames go through the inferencer ``chunk_size`` at a time (memory stays bounded); each
    frame's files are named ``<index:06d>`` for a video file and after the frame file otherwise.

    Args:
        inferencer (MultiTaskInferencer): The model.
        source (str | Sequence[str]): A video file, or frame image files in order.
        out_dir (str): Where ``pred/``, ``vis/``, ``panels/`` and the videos go.
        fps (float, optional): Frame rate of the videos written. Defaults to None (the video's;
            10 for frame files).
        batch_size (int): Frames per forward pass. Defaults to 1.
        chunk_size (int): Frames per inferencer call. Defaults to 16.

    Returns:
        dict[str, str]: ``{task: video file}`` and ``'panels'``.
    """
    if isinstance(source, str):
        reader = mmcv.VideoReader(source)
        if reader.frame_cnt == 0:
            raise ValueError(f'video {source} has no frame OpenCV can read')
        fps = fps or reader.fps or 10.0
        frames: Iterable[Tuple[str, object]] = ((f'{i:06d}', f) for i, f in enumerate(reader))
    else:
        fps = fps or 10.0
        frames = ((osp.splitext(osp.basename(p))[0], p) for p in source)
    stems: List[str] = []
    for chunk in _chunks(frames, chunk_size):
        names = [name for name, _ in chunk]
        images = [
            image if isinstance(image, str) else np.ascontiguousarray(image) for _, image in chunk
        ]
        inferencer(images, out_dir=out_dir, names=names, batch_size=batch_size)
        stems.extend(names)
    videos = {}
    for task in inferencer.tasks:
        files = [osp.join(out_dir, 'vis', task, f'{s}.png') for s in stems]
        videos[task] = write_video(files, osp.join(out_dir, f'{task}.mp4'), fps)
    panels = [osp.join(out_dir, 'panels', f'{s}.png') for s in stems]
    videos['panels'] = write_video(panels, osp.join(out_dir, 'panels.mp4'), fps)
    return videos


def infer_inputs(
    inferencer: MultiTaskInferencer,
    inputs: Sequence[str],
    out_dir: str,
    batch_size: int = 1,
    frames: bool = False,
    fps: Optional[float] = None,
) -> Dict[str, object]:
    """Run ``tools/infer.py``'s inputs: images and folders together, each video on its own.

    Args:
        inferencer (MultiTaskInferencer): The model.
        inputs (Sequence[str]): Image files, folders of images and video files.
        out_dir (str): Images and folders write to ``out_dir``; a video or a folder of frames
            to ``out_dir/<its name>/``.
        batch_size (int): Images per forward pass. Defaults to 1.
        frames (bool): Folders are frames of a video (a video per task). Defaults to False.
        fps (float, optional): Frame rate of the videos written. Defaults to None.

    Returns:
        dict: ``images``: number of images predicted outside videos; ``videos``: per video
        input, ``{task: video file}``.

    Raises:
        FileNotFoundError: An input does not exist.
    """
    images: List[str] = []
    videos: Dict[str, Dict[str, str]] = {}
    for path in inputs:
        if not osp.exists(path):
            raise FileNotFoundError(f'input {path} does not exist')
        name = osp.splitext(osp.basename(osp.normpath(path)))[0]
        if is_video(path):
            videos[path] = infer_video(inferencer, path, osp.join(out_dir, name), fps, batch_size)
        elif osp.isdir(path) and frames:
            frame_files = list_images(path)
            videos[path] = infer_video(
                inferencer, frame_files, osp.join(out_dir, name), fps, batch_size
            )
        elif osp.isdir(path):
            images.extend(list_images(path))
        else:
            images.append(path)
    if images:
        inferencer(images, out_dir=out_dir, batch_size=batch_size)
    return dict(images=len(images), videos=videos)
