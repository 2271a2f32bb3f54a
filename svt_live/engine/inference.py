"""Model inference over a stream of mel frames, reusing work between calls.

:class:`PosteriorStream` commits each frame exactly once: frame ``t`` is
computed as soon as ``lookahead`` later frames are known, from input frames
``t - context .. t + lookahead`` (the conv front end's receptive field), and
the recurrent part carries its state from one call to the next. No frame is
ever recomputed, so a live hop costs only its new frames. Offline inference
(:func:`frame_posteriors`) pushes the whole song through the same class, so
both give the same posteriors whatever the chunking.

A non-causal model (``model.causal`` false: a bidirectional recurrent part)
has no state to carry, so its recurrent part runs over overlapping windows
of encoded frames on a fixed grid of the stream: window ``j`` commits frames
``[j * W, (j + 1) * W)`` (``W = model.window``) and is computed from frames
``[j * W - C, (j + 1) * W + C)`` (``C = model.window_context``, cut at the
stream's start and, at :meth:`PosteriorStream.flush`, at its end), so every
frame's posterior is that of the window where it has context on both sides.
A window runs once its last frame is encoded: its frames are committed up to
``W + C`` frames (plus the conv lookahead) after their time. The grid
depends only on the stream, so streaming still equals offline.
"""
from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from svt_live.engine.checkpoint import LoadedModel
from svt_live.engine.decode import POSTERIOR_KEYS

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

    ``distributions=True`` (a pitch-bin model) also returns ``pitch_probs [k, 1 + n_bins]``, each
    frame's pitch distribution (silence first): the soft targets a teacher gives in distillation
    (:mod:`svt_train.teacher`).
    """

    def __init__(self, lm: LoadedModel, overlap: bool = False, distributions: bool = False):
        self.model = lm.model
        self.keys = POSTERIOR_KEYS + (("pitch_probs",) if distributions else ())
        self.device = next(self.model.parameters()).device
        self.context = int(self.model.context)
        self.lookahead = int(self.model.lookahead)
        self.causal = bool(getattr(self.model, "causal", True))
        if not self.causal:  # encoded frames kept for the windows still to run (see the module's docstring)
            self.window, self.window_context = int(self.model.window), int(self.model.window_context)
            self._h = torch.zeros(0, 0, device=self.device)
            self._h_start = 0  # stream frame index of _h[0]
            self.n_windowed = 0  # frames committed by windows
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
        if not self.causal:
            return self._windows(h, final=False)
        logits, self._state = self.model.heads(h, self._state)
        post = self._posteriors(logits)
        return {k: post[k][0].float().cpu().numpy() for k in self.keys}

    def _posteriors(self, logits: dict) -> dict:
        post = self.model.posteriors(logits)
        if "pitch_probs" in self.keys:
            post["pitch_probs"] = logits["pitch"].softmax(-1)
        return post

    def _join(self, parts: list) -> dict:
        """Posteriors of consecutive chunks ``[{key: [n, ...]}]`` -> one ``{key: [sum n, ...]}``."""
        out = {}
        for k in self.keys:
            arrays = [p[k] for p in parts if len(p[k])]
            out[k] = np.concatenate(arrays) if arrays else np.zeros(0, np.float32)
        return out

    @torch.inference_mode()
    def _windows(self, h: torch.Tensor | None, final: bool) -> dict:
        """A non-causal model: add encoded frames ``h [1, n, hidden]`` (or none), run every window
        whose frames are all encoded (``final``: also the last ones, cut at the stream's end);
        returns the posteriors committed, numpy ``[m]``."""
        if h is not None:
            self._h = torch.cat([self._h, h[0]]) if self._h.numel() else h[0]
        n_enc = self._h_start + self._h.shape[0]
        w, c = self.window, self.window_context
        parts = []
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # this thread only: a batch-1 GRU on several threads is many times slower
        try:
            while self.n_windowed < n_enc and (final or self.n_windowed + w + c <= n_enc):
                first = self.n_windowed
                lo, hi = max(0, first - c), min(n_enc, first + w + c)
                logits, _ = self.model.heads(self._h[lo - self._h_start:hi - self._h_start].unsqueeze(0))
                post = self._posteriors(logits)
                stop = min(first + w, n_enc)
                parts.append({k: post[k][0, first - lo:stop - lo].float().cpu().numpy() for k in self.keys})
                self.n_windowed = stop
        finally:
            torch.set_num_threads(threads)
        drop = max(0, self.n_windowed - c) - self._h_start
        if drop > 0:
            self._h = self._h[drop:]
            self._h_start += drop
        return self._join(parts)

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
        if wait_all and not self.causal:  # the end of the stream: the last windows, cut at it
            parts.append(self._windows(None, final=True))
        drop = max(0, self.n_out - self.context) - self._buf_start
        if drop > 0:
            self._buf = self._buf[drop:]
            self._buf_start += drop
        out = self._join(parts)
        self.n_done += len(out["onset"])
        return out

    def push(self, mel: torch.Tensor) -> dict:
        """Add frames ``[k, F]``; return posteriors of the frames now committed."""
        mel = mel.to(self.device)
        self._buf = torch.cat([self._buf, mel])
        self.n_in += mel.shape[0]
        return self._run(max(self.n_out, self.n_in - self.lookahead), wait_all=False)

    def flush(self) -> dict:
        """End of stream: commit the remaining frames (zero right context; a non-causal model's
        last windows end at the stream's end)."""
        return self._run(self.n_in, wait_all=True)


def frame_posteriors(lm: LoadedModel, mel: torch.Tensor, distributions: bool = False) -> dict:
    """Posteriors of a whole song: ``mel [T, F]`` -> dict of numpy arrays ``[T]`` (with
    ``distributions``, also ``pitch_probs [T, 1 + n_bins]``, see :class:`PosteriorStream`)."""
    stream = PosteriorStream(lm, overlap=True, distributions=distributions)
    return stream._join([stream.push(mel), stream.flush()])
