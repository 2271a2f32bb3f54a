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

import numpy as np
import torch

from .checkpoint import LoadedModel
from .decode import POSTERIOR_KEYS

MAX_CHUNK = 1000  # frames per model call: bounds memory on long input


class PosteriorStream:
    """Push log-mel frames ``[k, F]``; get committed frame posteriors.

    Keeps only the last ``context + lookahead`` input frames plus those not
    yet committed, so memory does not grow with stream length.
    """

    def __init__(self, lm: LoadedModel):
        self.model = lm.model
        self.device = next(self.model.parameters()).device
        self.context = int(self.model.context)
        self.lookahead = int(self.model.lookahead)
        self._buf = torch.zeros(0, lm.features.n_mels, device=self.device)
        self._buf_start = 0  # stream frame index of _buf[0]
        self.n_in = 0
        self.n_out = 0
        self._state = None

    @torch.inference_mode()
    def _run(self, end: int) -> dict:
        """Commit frames ``[n_out, end)``; returns posteriors as numpy ``[end - n_out]``."""
        parts = {k: [] for k in POSTERIOR_KEYS}
        while self.n_out < end:
            stop = min(end, self.n_out + MAX_CHUNK)
            lo = max(0, self.n_out - self.context)
            hi = min(self.n_in, stop + self.lookahead)
            x = self._buf[lo - self._buf_start:hi - self._buf_start].unsqueeze(0)
            h = self.model.encode(x)[:, self.n_out - lo:stop - lo]
            logits, self._state = self.model.decode(h, self._state)
            post = self.model.posteriors(logits)
            for k in POSTERIOR_KEYS:
                parts[k].append(post[k][0].float().cpu().numpy())
            self.n_out = stop
        drop = max(0, self.n_out - self.context) - self._buf_start
        if drop > 0:
            self._buf = self._buf[drop:]
            self._buf_start += drop
        return {k: np.concatenate(v) if v else np.zeros(0, np.float32) for k, v in parts.items()}

    def push(self, mel: torch.Tensor) -> dict:
        """Add frames ``[k, F]``; return posteriors of the frames now committed."""
        mel = mel.to(self.device)
        self._buf = torch.cat([self._buf, mel])
        self.n_in += mel.shape[0]
        return self._run(max(self.n_out, self.n_in - self.lookahead))

    def flush(self) -> dict:
        """End of stream: commit the remaining frames (zero right context)."""
        return self._run(self.n_in)


def frame_posteriors(lm: LoadedModel, mel: torch.Tensor) -> dict:
    """Posteriors of a whole song: ``mel [T, F]`` -> dict of numpy arrays ``[T]``."""
    stream = PosteriorStream(lm)
    first, rest = stream.push(mel), stream.flush()
    return {k: np.concatenate([first[k], rest[k]]) for k in POSTERIOR_KEYS}
