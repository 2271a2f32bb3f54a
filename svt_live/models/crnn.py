"""``SingingCRNN``: the default model, a small streaming conv + GRU network.

A 2-D conv front end over (time, mel) with a bounded lookahead (the first
``lookahead`` convs look one frame ahead, default 1; the others are
causal), then a unidirectional GRU (causal, so streaming keeps its hidden
state across hops), optionally followed by ``gru_layers - 1`` residual GRU
blocks, then three heads: onset and offset logits ``[B, T]`` and a pitch
distribution ``[B, T, 1 + n_bins]`` over silence plus ``bins_per_semitone``
bins per semitone from ``lowest_midi``. Pitch is read as a local weighted
mean around the most likely bin, so notes carry cents-accurate pitch.

``bidirectional=True`` makes the recurrent part non-causal (the file path's
accurate network): every GRU reads the frames on both sides, and a linear
``merge`` maps its two directions back to ``hidden``. ``merge`` starts as the
forward half, so a network initialised from a causal one with the same
``hidden`` starts computing what that one did (up to the GRU's zero start
state at a window's first frame). Streaming runs such a network over
overlapping windows of encoded frames on a fixed grid of the stream (see
:class:`~svt_live.engine.inference.PosteriorStream`): window ``j`` commits frames
``j * window .. (j + 1) * window - 1`` and reads ``window_context`` more on
each side.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class _Conv(nn.Module):
    """3x3 conv + BN + ReLU + max-pooling by 2 on the feature axis; ``ahead`` frames of right context.

    In eval mode batch norm is folded into the conv and the pooling (a
    pairwise max of strided views, ~5x faster than ``max_pool2d`` here) runs
    before the ReLU (they commute): the same output in fewer passes over memory.
    """

    def __init__(self, cin: int, cout: int, ahead: int):
        super().__init__()
        self.ahead = ahead
        self.pad = (1, 1, 2 - ahead, ahead)  # (freq left, freq right, time left, time right)
        self.conv = nn.Conv2d(cin, cout, 3)
        self.bn = nn.BatchNorm2d(cout)
        self.pool = nn.MaxPool2d((1, 2))

    @torch.no_grad()
    def adopt_taps(self, weight: torch.Tensor, ahead: int) -> None:
        """Take a trained kernel made for ``ahead`` frames of lookahead into this block's.

        With more lookahead the taps move one frame back per frame (the oldest tap is
        dropped) and the new future taps start at zero, so the block computes nearly what it
        did; with less, they move forward and the oldest taps start at zero.
        """
        shift = self.ahead - ahead
        w = torch.zeros_like(self.conv.weight)
        if shift >= 0:
            w[:, :, :3 - shift] = weight[:, :, shift:]
        else:
            w[:, :, -shift:] = weight[:, :, :3 + shift]
        self.conv.weight.copy_(w)

    def forward(self, x):
        x = F.pad(x, self.pad)
        if self.training:
            return self.pool(F.relu(self.bn(self.conv(x))))
        scale = self.bn.weight * torch.rsqrt(self.bn.running_var + self.bn.eps)
        weight = self.conv.weight * scale[:, None, None, None]
        bias = (self.conv.bias - self.bn.running_mean) * scale + self.bn.bias
        y = F.conv2d(x, weight, bias)
        w = y.shape[-1] // 2 * 2
        return F.relu(torch.maximum(y[..., 0:w:2], y[..., 1:w:2]))


class _ResidualGRU(nn.Module):
    """``z + out(GRU(z))`` with ``out`` initialised to zero: a block added to a trained network
    starts as the identity, so training continues from the same function. ``bidirectional``: the
    GRU reads both directions and ``out`` maps their ``2 * hidden`` features to ``hidden``."""

    def __init__(self, hidden: int, bidirectional: bool = False):
        super().__init__()
        self.gru = nn.GRU(hidden, hidden, batch_first=True, bidirectional=bidirectional)
        self.out = nn.Linear(2 * hidden if bidirectional else hidden, hidden)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, z: torch.Tensor, state=None):
        y, state = self.gru(z, state)
        return z + self.out(y), state


class SingingCRNN(nn.Module):
    label_scheme = "pitch_bins"

    def __init__(self, n_mels: int = 256, channels: tuple = (16, 32, 32), hidden: int = 192,
                 lowest_midi: float = 33.0, n_semitones: int = 54, bins_per_semitone: int = 5,
                 lookahead: int = 1, gru_layers: int = 1, bidirectional: bool = False, window: int = 250,
                 window_context: int = 50):
        super().__init__()
        if not 0 <= int(lookahead) <= len(channels):
            raise ValueError(f"lookahead must be 0-{len(channels)} frames (one per conv), got {lookahead}")
        if int(gru_layers) < 1:
            raise ValueError(f"gru_layers must be at least 1, got {gru_layers}")
        if int(window) < 1 or int(window_context) < 0:
            raise ValueError(f"window must be >= 1 and window_context >= 0 frames, got {window}, {window_context}")
        self.causal = not bidirectional
        self.window, self.window_context = int(window), int(window_context)
        self.n_mels = n_mels
        self.lowest_midi = float(lowest_midi)
        self.bins_per_semitone = int(bins_per_semitone)
        self.n_bins = int(n_semitones * bins_per_semitone)
        self.lookahead = int(lookahead)
        self.context = 2 * len(channels)
        self.input_norm = nn.BatchNorm1d(n_mels)
        layers, cin, f = [], 1, n_mels
        for i, c in enumerate(channels):
            layers.append(_Conv(cin, c, ahead=1 if i < lookahead else 0))
            cin, f = c, f // 2
        self.convs = nn.Sequential(*layers)
        self.proj = nn.Linear(cin * f, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True, bidirectional=bidirectional)
        if bidirectional:
            self.merge = nn.Linear(2 * hidden, hidden)
            with torch.no_grad():
                self.merge.weight.copy_(torch.cat([torch.eye(hidden), torch.zeros(hidden, hidden)], 1))
                self.merge.bias.zero_()
        self.blocks = nn.ModuleList(_ResidualGRU(hidden, bidirectional) for _ in range(int(gru_layers) - 1))
        self.onset_head = nn.Linear(hidden, 1)
        self.offset_head = nn.Linear(hidden, 1)
        self.pitch_head = nn.Linear(hidden, 1 + self.n_bins)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, T, n_mels]`` -> ``[B, T, hidden]``."""
        x = self.input_norm(x.transpose(1, 2)).transpose(1, 2)
        h = self.convs(x.unsqueeze(1).contiguous(memory_format=torch.channels_last))  # [B, C, T, f]
        return F.relu(self.proj(h.permute(0, 2, 1, 3).flatten(2)))

    def heads(self, h: torch.Tensor, state=None):
        """``[B, T, hidden]`` and the recurrent state (None at the start) -> (logits, new state).

        A bidirectional network reads all of ``h`` both ways: its state is not carried on."""
        state = state or (None,) * (1 + len(self.blocks))
        z, first = self.gru(h, state[0])
        z = (self.merge(z) if not self.causal else z) + h
        states = [first]
        for block, s in zip(self.blocks, state[1:]):
            z, s = block(z, s)
            states.append(s)
        logits = {
            "onset": self.onset_head(z).squeeze(-1),
            "offset": self.offset_head(z).squeeze(-1),
            "pitch": self.pitch_head(z),
        }
        return logits, tuple(states)

    def forward(self, x: torch.Tensor) -> dict:
        return self.heads(self.encode(x))[0]

    def bin_to_midi(self, b: torch.Tensor) -> torch.Tensor:
        """Pitch bin index (0-based, silence excluded) -> MIDI of its centre."""
        return self.lowest_midi + b / self.bins_per_semitone

    def posteriors(self, logits: dict) -> dict:
        """Logits -> ``onset``, ``offset``, ``voiced``, ``pitch`` (MIDI), each ``[B, T]``."""
        p = logits["pitch"].softmax(-1)
        voiced = 1.0 - p[..., 0]
        bins = p[..., 1:]
        centre = bins.argmax(-1, keepdim=True)
        offsets = torch.arange(-2, 3, device=p.device)
        idx = (centre + offsets).clamp(0, self.n_bins - 1)
        w = bins.gather(-1, idx)
        mean_bin = (w * idx).sum(-1) / w.sum(-1).clamp_min(1e-12)
        return {
            "onset": torch.sigmoid(logits["onset"]),
            "offset": torch.sigmoid(logits["offset"]),
            "voiced": voiced,
            "pitch": self.bin_to_midi(mean_bin),
        }
