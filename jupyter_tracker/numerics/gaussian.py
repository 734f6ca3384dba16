"""Gaussian kernel smoothing of sorted points: the machinery of ``smoothing.gaussian``.

Exact on uniform grids (holes allowed) and for sparse points, approximate
(linear splitting onto a fine grid, convolution, interpolation back) otherwise;
see :func:`jupyter_tracker.numerics.smoothing.gaussian` for the contract.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gaussian_sorted", "fast_median"]

# Sum the kernel exactly when every point has fewer neighbours than this
# within 3 sigma on each side (and the spacing is not much finer than sigma).
_EXACT_NEIGHBOURS = 8
# FFT size for the overlap-add convolution of wide kernels.
_FFT_SIZE = 8192
# The median spacing is estimated on at most this many gaps.
_MEDIAN_SAMPLE = 1 << 16


def fast_median(values: np.ndarray) -> float:
    """``np.median`` of a non-empty 1-D array, by partition (several times faster)."""
    n = values.size
    k = n // 2
    if n % 2:
        return float(np.partition(values, k)[k])
    part = np.partition(values, (k - 1, k))
    return float((part[k - 1] + part[k]) / 2.0)


def _fast_length(n: int) -> int:
    """The smallest 2**a * 3**b * 5**c >= n (a size numpy's FFT handles fast)."""
    best = 1
    while best < n:
        best *= 2
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            q = p35
            while q < n:
                q *= 2
            best = min(best, q)
            p35 *= 3
        p5 *= 5
    return best


def _convolve_same(signals: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve each row of ``signals`` (k, G) with a symmetric odd ``kernel``; 'same' size."""
    k, g = signals.shape
    half = kernel.size // 2
    if kernel.size == 1:
        return signals * kernel[0]
    if kernel.size <= 25 or g * kernel.size <= (1 << 18):
        return np.stack([np.convolve(row, kernel)[half : half + g] for row in signals])
    # overlap-add: blocks of the signal, zero-padded, through batched real FFTs
    nfft = _fast_length(max(8 * half, _FFT_SIZE))
    if g + 2 * half <= nfft:
        nfft = _fast_length(g + 2 * half)
    block = nfft - 2 * half
    nblocks = -(-g // block)
    frames = np.zeros((k, nblocks, nfft))
    whole = g // block
    frames[:, :whole, :block] = signals[:, : whole * block].reshape(k, whole, block)
    if whole < nblocks:
        frames[:, whole, : g - whole * block] = signals[:, whole * block :]
    spectrum = np.fft.rfft(frames, axis=-1)
    spectrum *= np.fft.rfft(kernel, n=nfft)
    parts = np.fft.irfft(spectrum, n=nfft, axis=-1)
    # output i = full convolution at i + half; block b's part p covers b*block + p
    out = np.empty((k, nblocks, block))
    out[...] = parts[:, :, half : half + block]
    if nblocks > 1:
        out[:, 1:, :half] += parts[:, :-1, block + half :]
        out[:, :-1, block - half :] += parts[:, 1:, :half]
    return out.reshape(k, nblocks * block)[:, :g]


def _gaussian_exact(xv: np.ndarray, v: np.ndarray, sigma: float) -> np.ndarray:
    """Direct kernel sums, for sorted x with few neighbours within 3 sigma."""
    reach = 3.0 * sigma
    num = v.copy()
    den = np.ones(v.size)
    for offset in range(1, min(_EXACT_NEIGHBOURS, v.size)):
        dist = xv[offset:] - xv[:-offset]
        near = dist <= reach
        if not near.any():
            break
        with np.errstate(under="ignore"):
            weights = np.exp(-0.5 * (dist / sigma) ** 2)
        weights *= near
        num[offset:] += weights * v[:-offset]
        num[:-offset] += weights * v[offset:]
        den[offset:] += weights
        den[:-offset] += weights
    return num / den


def _kernel(s: float, half: int) -> np.ndarray:
    """The Gaussian of width ``s`` sampled at ``-half .. half``."""
    offsets = np.arange(-half, half + 1, dtype=np.float64)
    return np.exp(-0.5 * (offsets / s) ** 2)


def _reach_nodes(s: float) -> int:
    """How many grid steps 3 sigma spans (``s`` is sigma in grid steps)."""
    return int(np.floor(3.0 * s * (1.0 + 1e-12)))


def _gaussian_contiguous(v: np.ndarray, s: float) -> np.ndarray:
    """Exact smoothing of points on consecutive grid nodes (sigma ``s`` in steps)."""
    g = v.size
    half = _reach_nodes(s)
    kernel = _kernel(s, half)
    num = _convolve_same(v[None, :], kernel)[0]
    # the kernel mass on nodes that exist: the full sum except near the ends
    cum = np.cumsum(kernel)
    if g > 2 * half:
        num /= cum[-1]
        # node i < half sees kernel offsets -i .. half, i.e. cum[-1] - cum[half - i - 1]
        edge = cum[-1] - np.concatenate([[0.0], cum])[half - np.arange(half)]
        num[:half] *= cum[-1] / edge
        num[g - half :] *= (cum[-1] / edge)[::-1]
        return num
    at = np.arange(g)
    padded = np.concatenate([[0.0], cum])
    den = padded[np.minimum(half, g - 1 - at) + half + 1] - padded[np.maximum(-half, -at) + half]
    return num / den


def _gaussian_grid(u: np.ndarray, v: np.ndarray, s: float, on_grid: bool, max_step: float) -> np.ndarray:
    """Smoothing through a uniform grid; ``u`` are the sorted positions in grid steps.

    ``on_grid``: every ``u`` is an integer (exact); otherwise each point is
    split between its two nodes and the result interpolated back.
    ``max_step`` is the largest ``u[i+1] - u[i]`` (about).
    """
    m = v.size
    limit = max(4 * m, 4096)
    original, factor = u, 1.0
    while True:
        half = _reach_nodes(s)
        # gaps wider than kernel + splitting + interpolation interact with nothing
        gap = half + 3
        if max_step / factor > gap - 1:
            du = np.diff(u)
            np.minimum(du, gap, out=du)
            u = np.concatenate([[0.0], np.cumsum(du)])
        nodes = int(u[-1]) + 2
        if nodes <= limit:
            break
        # pathological spread (clusters far apart): a coarser grid, approximate
        step = 1.05 * nodes / limit
        factor *= step
        s /= step
        u = original / factor
        on_grid = False

    if on_grid:
        idx = u.astype(np.intp)
        if idx[-1] == m - 1 and bool((idx[1:] != idx[:-1]).all()):
            return _gaussian_contiguous(v, s)
        nodes = int(idx[-1]) + 1
        sig = np.empty((2, nodes))
        sig[0] = np.bincount(idx, weights=v, minlength=nodes)
        sig[1] = np.bincount(idx, minlength=nodes)
        num, den = _convolve_same(sig, _kernel(s, half))
        ratio = np.divide(num, den, out=np.zeros(nodes), where=den > 0)
        return ratio.take(idx)

    # splitting and linear interpolation each widen the kernel by 1/6 step**2
    kernel = _kernel(float(np.sqrt(max(s * s - 1.0 / 3.0, 0.25 * s * s))), half)
    left = u.astype(np.intp)
    frac = u - left
    upper = frac * v  # the part of each value given to the node on the right
    sig = np.empty((2, nodes))
    right = np.bincount(left, weights=upper, minlength=nodes)
    sig[0] = np.bincount(left, weights=np.subtract(v, upper, out=upper), minlength=nodes)
    sig[0, 1:] += right[:-1]
    right = np.bincount(left, weights=frac, minlength=nodes)
    sig[1] = np.bincount(left, minlength=nodes)
    sig[1] -= right
    sig[1, 1:] += right[:-1]
    num, den = _convolve_same(sig, kernel)
    ratio = np.divide(num, den, out=np.zeros(nodes), where=den > 0)
    low = ratio.take(left)
    high = ratio[1:].take(left)
    high -= low
    high *= frac
    high += low
    return high


def gaussian_sorted(xv: np.ndarray, v: np.ndarray, dx: np.ndarray, sigma: float) -> np.ndarray:
    lo, hi = float(dx.min()), float(dx.max())
    if hi == 0.0:  # every point at the same x: all within reach of each other
        return np.full(v.size, v.mean())
    if lo > 0 and lo == hi:  # evenly spaced
        return _gaussian_contiguous(v, sigma / lo)
    positive = dx[dx > 0]
    finest = float(positive.min())
    if positive.size > _MEDIAN_SAMPLE:
        positive = positive[:: -(-positive.size // _MEDIAN_SAMPLE)]
    h = fast_median(positive)
    # On the grid of the median spacing, or of the finest one (steps with
    # holes)? A cheap look at the start first.
    for step in (h, finest) if finest < h else (h,):
        probe = (xv[:4096] - xv[0]) / step
        if float(np.abs(probe - np.rint(probe)).max()) <= 1e-6:
            u = (xv - xv[0]) / step
            nodes = np.rint(u)
            if float(np.abs(u - nodes).max()) <= 1e-6:
                return _gaussian_grid(nodes, v, sigma / step, True, hi / step)
    k = _EXACT_NEIGHBOURS
    if h > sigma / 4 and (v.size <= k or not bool((xv[k:] - xv[:-k] <= 3.0 * sigma).any())):
        return _gaussian_exact(xv, v, sigma)
    h = min(max(h, sigma / 8.0), sigma / 4.0)
    u = np.subtract(xv, xv[0])
    u *= 1.0 / h
    return _gaussian_grid(u, v, sigma / h, False, hi / h)
