"""Choosing the torch device that ``svt-live``, ``svt-gui`` and ``svt-train`` run a model on.

Conventions: a device is named as on the command line's ``--device``:
``auto`` (CUDA when present, then Apple's MPS, then the CPU), ``cpu``,
``cuda``, ``cuda:N`` or ``mps``. A name that is none of these, or a device
this machine lacks, is a ``ValueError`` in one line naming the option.
"""
from __future__ import annotations

import torch

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N or mps"


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def pick_device(name: str = "auto") -> torch.device:
    """A usable torch device for a ``--device`` value.

    Parameters
    ----------
    name : str
        ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.

    Returns
    -------
    torch.device

    Examples
    --------
    >>> pick_device("cpu")
    device(type='cpu')
    >>> pick_device("tpu")
    Traceback (most recent call last):
    ...
    ValueError: --device 'tpu': use auto, cpu, cuda, cuda:N or mps
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if _mps_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"--device {name!r}: use {DEVICE_CHOICES}")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"--device {name}: {torch.cuda.device_count()} CUDA device(s) available")
    if device.type == "mps" and not _mps_available():
        raise ValueError(f"--device {name}: MPS is not available on this machine")
    return device
