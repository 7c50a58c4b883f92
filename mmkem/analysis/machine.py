"""The machine a measurement ran on, as the cost tools write it next to their numbers."""

import os
import platform

__all__ = ['cpu_name', 'device_name']


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: str, threads: int) -> str:
    """The GPU's name for a CUDA ``device``; else the CPU, its cores and the torch threads used.

    Args:
        device (str): ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
        threads (int): The torch CPU threads of the measurement.

    Returns:
        str: E.g. ``'Intel(R) Xeon(R) ... (2 cores), 1 torch threads'``.
    """
    if device.startswith('cuda'):
        import torch

        return torch.cuda.get_device_name(device)
    return f'{cpu_name()} ({os.cpu_count()} cores), {threads} torch threads'
