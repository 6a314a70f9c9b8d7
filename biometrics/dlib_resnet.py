"""NumPy forward pass of dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``).

Why this exists: the ``dlib-bin`` wheel is built without BLAS, so
``face_recognition_model_v1.compute_face_descriptor`` spends ~85 ms of plain
C++ loops on one 150x150 face chip.  That single call was most of a
verification's wall time.  NumPy ships an optimised BLAS (AVX-512 on our
servers), so running the *same weights* as im2col + matrix products gives the
same 128-d descriptor in a fraction of the time, and the ~22 MB model is read
once into NumPy arrays instead of being held by dlib too.

Each forward pass runs BLAS single-threaded (OpenBLAS's per-thread
``openblas_set_num_threads_local``, restored afterwards): a web worker already
runs requests in parallel, and OpenBLAS's own threads then fight over the same
two cores - measured 20 ms single-threaded vs 60-170 ms multi-threaded while
another process kept one core busy (16 ms on an idle machine).

The numbers are the same as dlib's up to float32 rounding (the test suite
compares both on every shared photo; the largest difference seen is ~1e-6 in
distance).  Face alignment is still dlib's own (``dlib.get_face_chip``), so
the only thing replaced is the network arithmetic.

The file format is dlib's serialisation: small integers are a length byte
(low nibble = byte count, 0x80 = negative) followed by little-endian bytes;
doubles are an integer mantissa and exponent; tensors are ``version, n, k,
nr, nc`` followed by raw little-endian float32.  Layers are stored from the
input upwards, each starting with a length-prefixed name (``con_4``,
``affine_`` ...).  We parse each layer's fields we need and check the layer
sequence against the architecture of dlib's ``dnn_face_recognition_ex.cpp``.
"""

from __future__ import annotations

import ctypes
import glob
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

CHIP_SIZE = 150

# Layer sequence of dlib's "anet_type" as serialised (input first).  ``block``
# is con, affine, relu, con, affine; ``ares`` adds the block to its input then
# relu; ``ares_down`` also average-pools the input (the shortcut) before adding.
_BLOCK = ["con_4", "affine_", "relu_", "con_4", "affine_"]
_ARES = _BLOCK + ["add_prev_", "relu_"]
_ARES_DOWN = _BLOCK + ["avg_pool_2", "add_prev_", "relu_"]
# residual stages: (is_down, count) from the stem upwards
_STAGES = [(False, 3), (True, 1), (False, 3), (True, 1), (False, 2), (True, 1), (False, 2), (True, 1)]
_EXPECTED = ["input_rgb_image_sized", "con_4", "affine_", "relu_", "max_pool_2"]
for _down, _n in _STAGES:
    _EXPECTED += (_ARES_DOWN if _down else _ARES) * _n
_EXPECTED += ["avg_pool_2", "fc_2"]
_NAMES = sorted(set(_EXPECTED), key=len, reverse=True)
_POOLS = [(3, 2)] + [(2, 2)] * 4 + [(0, 1)]  # (window, stride); 0 = whole image
_MAX_GAP = 4096  # wrapper fields between two layers are a few dozen bytes


class ModelFormatError(ValueError):
    """The model file is not the dlib face-recognition ResNet we expect."""


class _Reader:
    """Cursor over dlib-serialised bytes."""

    def __init__(self, data: bytes, pos: int = 0):
        self.data = data
        self.pos = pos

    def int(self) -> int:
        head = self.data[self.pos]
        size = head & 0x0F
        start = self.pos + 1
        value = int.from_bytes(self.data[start:start + size], "little")
        self.pos = start + size
        return -value if head & 0x80 else value

    def double(self) -> float:
        mantissa = self.int()
        exponent = self.int()
        return float(np.ldexp(float(mantissa), exponent))

    def string(self) -> str:
        n = self.int()
        text = self.data[self.pos:self.pos + n].decode("ascii")
        self.pos += n
        return text

    def tensor(self) -> np.ndarray:
        if self.int() != 2:
            raise ModelFormatError("unsupported tensor version")
        shape = tuple(self.int() for _ in range(4))
        count = int(np.prod(shape))
        arr = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos)
        self.pos += 4 * count
        return arr.reshape(shape)

    def next_layer(self) -> str:
        """Skip the wrapper fields between layers and read the next layer name."""
        best = -1
        end = self.pos + _MAX_GAP
        for name in _NAMES:
            idx = self.data.find(bytes([1, len(name)]) + name.encode(), self.pos, end)
            if idx >= 0 and (best < 0 or idx < best):
                best = idx
        if best < 0:
            raise ModelFormatError("layer missing")
        self.pos = best
        return self.string()


@dataclass(frozen=True)
class _Conv:
    weight: np.ndarray  # (C*kh*kw, N) ready for x @ weight, affine folded in
    bias: np.ndarray  # (N,)
    kh: int
    kw: int
    stride: int
    pad: int


def _conv(x: np.ndarray, c: _Conv) -> np.ndarray:
    """x: (B, H, W, C) -> (B, Ho, Wo, N); cross-correlation like dlib/cuDNN."""
    if c.pad:
        x = np.pad(x, ((0, 0), (c.pad, c.pad), (c.pad, c.pad), (0, 0)))
    win = sliding_window_view(x, (c.kh, c.kw), axis=(1, 2))[:, :: c.stride, :: c.stride]
    b, ho, wo = win.shape[:3]
    cols = win.reshape(b * ho * wo, -1)  # (C, kh, kw) order, as dlib stores filters
    out = cols @ c.weight
    out += c.bias
    return out.reshape(b, ho, wo, -1)


def _pool(x: np.ndarray, size: int, stride: int, op) -> np.ndarray:
    win = sliding_window_view(x, (size, size), axis=(1, 2))[:, ::stride, ::stride]
    return op(win, axis=(-2, -1))


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """dlib add_prev: sum of two tensors, the smaller one zero-padded bottom/right."""
    if a.shape == b.shape:
        return a + b
    shape = tuple(max(p, q) for p, q in zip(a.shape, b.shape))
    out = np.zeros(shape, dtype=np.float32)
    out[tuple(slice(0, s) for s in a.shape)] += a
    out[tuple(slice(0, s) for s in b.shape)] += b
    return out


def _openblas_local_threads_setter():
    """``openblas_set_num_threads_local`` of the OpenBLAS NumPy loaded, or None."""
    folder = os.path.dirname(np.__file__) + ".libs"  # where NumPy wheels vendor OpenBLAS
    paths = glob.glob(os.path.join(folder, "*openblas*"))
    try:
        with open("/proc/self/maps") as fh:
            paths += sorted({line.split()[-1] for line in fh if "openblas" in line.lower()})
    except OSError:
        pass
    for path in paths:
        try:
            fn = getattr(ctypes.CDLL(path), "openblas_set_num_threads_local", None)
        except OSError:
            continue
        if fn is not None:
            fn.restype, fn.argtypes = ctypes.c_int, [ctypes.c_int]
            return fn
    return None


_SET_LOCAL_THREADS = _openblas_local_threads_setter()


@contextmanager
def single_threaded_blas():
    """Run BLAS in the calling thread only, for the duration of the block."""
    if _SET_LOCAL_THREADS is None:
        yield
        return
    previous = _SET_LOCAL_THREADS(1)
    try:
        yield
    finally:
        _SET_LOCAL_THREADS(previous)


class DescriptorNet:
    """The face-recognition ResNet as NumPy arrays; ``compute`` maps chips to 128-d vectors."""

    def __init__(self, path: str | Path):
        data = Path(path).read_bytes()
        r = _Reader(data)
        names = []
        convs: list[_Conv] = []
        pending = None
        self._pools: list[tuple[int, int]] = []
        while True:
            try:
                name = r.next_layer()
            except ModelFormatError:
                if names and names[-1] == "fc_2":
                    break
                raise
            names.append(name)
            if name == "input_rgb_image_sized":
                self.mean = np.array([r.double() for _ in range(3)], dtype=np.float32)
            elif name == "con_4":
                params = r.tensor().ravel()
                n, kh, kw, sy, sx, py, px = (r.int() for _ in range(7))
                if sy != sx or py != px:
                    raise ModelFormatError("non-square conv")
                w = params[: params.size - n]
                pending = (w.reshape(n, -1), params[params.size - n:], kh, kw, sy, py)
            elif name == "affine_":
                params = r.tensor().ravel()
                w, b, kh, kw, s, p = pending
                gamma, beta = params[: len(b)], params[len(b):]
                weight = np.ascontiguousarray((w * gamma[:, None]).T, dtype=np.float32)
                convs.append(_Conv(weight, (b * gamma + beta).astype(np.float32), kh, kw, s, p))
            elif name in ("max_pool_2", "avg_pool_2"):
                nr, nc, sy, sx, py, px = (r.int() for _ in range(6))
                self._pools.append((nr, sy))
            elif name == "fc_2":
                outputs, inputs = r.int(), r.int()
                weights = r.tensor()
                if (outputs, inputs) != (128, 256) or weights.shape[:2] != (256, 128):
                    raise ModelFormatError("unexpected fully-connected layer")
                self.fc = np.ascontiguousarray(weights.reshape(256, 128), dtype=np.float32)
        if names != _EXPECTED or self._pools != _POOLS:
            raise ModelFormatError("layer sequence differs from dlib's face ResNet")
        self._convs = convs

    def compute(self, chips: np.ndarray) -> np.ndarray:
        """(B,150,150,3) or (150,150,3) uint8 RGB chips -> float32 (B,128) or (128,)."""
        single = chips.ndim == 3
        x = chips[None] if single else chips
        if x.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError("face chips must be 150x150 RGB")
        with single_threaded_blas():
            out = self._forward(x)
        return out[0] if single else out

    def _forward(self, x: np.ndarray) -> np.ndarray:
        x = (x.astype(np.float32) - self.mean) / np.float32(256.0)
        convs = iter(self._convs)
        x = np.maximum(_conv(x, next(convs)), 0)
        x = _pool(x, 3, 2, np.max)
        for down, count in _STAGES:
            for _ in range(count):
                y = np.maximum(_conv(x, next(convs)), 0)
                y = _conv(y, next(convs))
                shortcut = _pool(x, 2, 2, np.mean) if down else x
                x = np.maximum(_add(y, shortcut), 0)
        x = x.mean(axis=(1, 2))
        return (x @ self.fc).astype(np.float32)
