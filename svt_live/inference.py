"""Model inference over a stream of mel frames, reusing work between calls.

:class:`PosteriorStream` commits each frame exactly once: frame ``t`` is
computed as soon as ``lookahead`` later frames are known, from input frames
``t - context .. t + lookahead`` (the conv front end's receptive field), and
the recurrent part carries its state from one call to the next. No frame is
ever recomputed, so a live hop costs only its new frames. Offline inference
(:func:`frame_posteriors`) pushes the whole song through the same class, so
both give the same posteriors whatever the chunking.
"""
from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from .checkpoint import LoadedModel
from .decode import POSTERIOR_KEYS

MAX_CHUNK = 1000  # frames per model call: bounds memory on long input
_RECURRENT = None  # one worker thread, shared by every overlapping stream, runs the recurrent part


def _recurrent_worker() -> ThreadPoolExecutor:
    global _RECURRENT
    if _RECURRENT is None:
        _RECURRENT = ThreadPoolExecutor(1, thread_name_prefix="svt-recurrent")
    return _RECURRENT


def _forget_worker() -> None:
    """A forked child has no worker thread: let it start its own."""
    global _RECURRENT
    _RECURRENT = None


os.register_at_fork(after_in_child=_forget_worker)


class PosteriorStream:
    """Push log-mel frames ``[k, F]``; get committed frame posteriors.

    Keeps only the last ``context + lookahead`` input frames plus those not
    yet committed, so memory does not grow with stream length.

    ``overlap=True`` (file mode) runs the recurrent part and the heads of a
    chunk on a worker thread while the caller decodes audio and runs the
    conv front end of the next one: the same posteriors, returned one
    :meth:`push` later (:meth:`flush` returns everything). Throughput on two
    cores goes up by the recurrent part's share (``benchmarks/speed.py``);
    live mode keeps ``overlap=False`` so no frame waits for the next hop.
    ``n_done`` counts the frames returned so far.
    """

    def __init__(self, lm: LoadedModel, overlap: bool = False):
        self.model = lm.model
        self.device = next(self.model.parameters()).device
        self.context = int(self.model.context)
        self.lookahead = int(self.model.lookahead)
        self._buf = torch.zeros(0, lm.features.n_mels, device=self.device)
        self._buf_start = 0  # stream frame index of _buf[0]
        self.n_in = 0
        self.n_out = 0  # frames through the conv front end
        self.n_done = 0  # frames whose posteriors were returned
        self._state = None
        self._overlap = overlap
        self._inflight: deque = deque()  # futures of chunks being run on the worker

    @torch.inference_mode()
    def _recur(self, h: torch.Tensor) -> dict:
        """Recurrent part and heads of one encoded chunk ``[1, n, hidden]`` -> numpy posteriors ``[n]``."""
        logits, self._state = self.model.heads(h, self._state)
        post = self.model.posteriors(logits)
        return {k: post[k][0].float().cpu().numpy() for k in POSTERIOR_KEYS}

    @torch.inference_mode()
    def _run(self, end: int, wait_all: bool) -> dict:
        """Commit frames ``[n_out, end)``; returns the posteriors now complete as numpy ``[m]``."""
        parts = []
        while self.n_out < end:
            stop = min(end, self.n_out + MAX_CHUNK)
            lo = max(0, self.n_out - self.context)
            hi = min(self.n_in, stop + self.lookahead)
            x = self._buf[lo - self._buf_start:hi - self._buf_start].unsqueeze(0)
            h = self.model.encode(x)[:, self.n_out - lo:stop - lo]
            if self._overlap:
                self._inflight.append(_recurrent_worker().submit(self._recur, h))
                while len(self._inflight) > 1:
                    parts.append(self._inflight.popleft().result())
            else:
                parts.append(self._recur(h))
            self.n_out = stop
        while self._inflight and wait_all:
            parts.append(self._inflight.popleft().result())
        drop = max(0, self.n_out - self.context) - self._buf_start
        if drop > 0:
            self._buf = self._buf[drop:]
            self._buf_start += drop
        out = {k: np.concatenate([p[k] for p in parts]) if parts else np.zeros(0, np.float32)
               for k in POSTERIOR_KEYS}
        self.n_done += len(out["onset"])
        return out

    def push(self, mel: torch.Tensor) -> dict:
        """Add frames ``[k, F]``; return posteriors of the frames now committed."""
        mel = mel.to(self.device)
        self._buf = torch.cat([self._buf, mel])
        self.n_in += mel.shape[0]
        return self._run(max(self.n_out, self.n_in - self.lookahead), wait_all=False)

    def flush(self) -> dict:
        """End of stream: commit the remaining frames (zero right context)."""
        return self._run(self.n_in, wait_all=True)


def frame_posteriors(lm: LoadedModel, mel: torch.Tensor) -> dict:
    """Posteriors of a whole song: ``mel [T, F]`` -> dict of numpy arrays ``[T]``."""
    stream = PosteriorStream(lm, overlap=True)
    first, rest = stream.push(mel), stream.flush()
    return {k: np.concatenate([first[k], rest[k]]) for k in POSTERIOR_KEYS}
