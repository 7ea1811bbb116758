"""JPEG Lossless, Process 14, Selection Value 1 (first-order prediction) encoder in NumPy.

No installed library writes SV1 from Python reliably: pydicom has no encoder for it, imagecodecs
writes predictor 6 (valid for 1.2.840.10008.1.2.4.57 but not .70) and python-gdcm's in-memory
image API crashes the interpreter when its objects are released. SV1 is simple enough to write
here (ITU T.81 Annex H): predictor Ra (left; Rb above for the first column, 2^(P-1) for the first
sample), differences modulo 2^16, one optimal Huffman table per frame (Annex K.2), no restart
markers. The stream is valid for both .57 and .70. Output is always re-decoded by another
decoder (GDCM / libjpeg-turbo) before it is accepted.
"""

from __future__ import annotations

import numpy as np

_BIT_LENGTH = np.array([int(v).bit_length() for v in range(32769)], dtype=np.uint8)


def _huffman_bits(freq: np.ndarray) -> tuple[list[int], list[int]]:
    """BITS (code counts per length 1..16) and HUFFVAL for symbol frequencies (T.81 Annex K.2)."""
    nsym = len(freq)
    f = [int(v) for v in freq] + [1]  # reserved symbol: no code may be all ones
    size = [0] * (nsym + 1)
    others = [-1] * (nsym + 1)
    while True:
        live = [i for i in range(nsym + 1) if f[i] > 0]
        if len(live) < 2:
            break
        v1 = min(live, key=lambda i: (f[i], -i))
        v2 = min((i for i in live if i != v1), key=lambda i: (f[i], -i))
        f[v1] += f[v2]
        f[v2] = 0
        size[v1] += 1
        while others[v1] >= 0:
            v1 = others[v1]
            size[v1] += 1
        others[v1] = v2
        size[v2] += 1
        while others[v2] >= 0:
            v2 = others[v2]
            size[v2] += 1
    bits = [0] * 33
    for s in size:
        if s:
            bits[s] += 1
    for i in range(32, 16, -1):  # limit code lengths to 16 bits
        while bits[i] > 0:
            j = i - 2
            while bits[j] == 0:
                j -= 1
            bits[i] -= 2
            bits[i - 1] += 1
            bits[j + 1] += 2
            bits[j] -= 1
    i = 16
    while bits[i] == 0:
        i -= 1
    bits[i] -= 1  # drop the reserved symbol's code
    order = sorted((s, sym) for sym, s in enumerate(size[:nsym]) if s)
    return bits[1:17], [sym for _, sym in order]


def _codes(bits: list[int], values: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Canonical codes (T.81 Annex C): per symbol, its code and code length."""
    code_of = np.zeros(17, dtype=np.uint64)
    size_of = np.zeros(17, dtype=np.uint8)
    code, k = 0, 0
    for length in range(1, 17):
        for _ in range(bits[length - 1]):
            code_of[values[k]] = code
            size_of[values[k]] = length
            code += 1
            k += 1
        code <<= 1
    return code_of, size_of


def _pack(values: np.ndarray, lengths: np.ndarray) -> bytes:
    """Concatenate variable-length codes (≤ 32 bits each) MSB first, pad with 1 bits, stuff 0xFF.

    Each code is shifted into a 64-bit window starting at its 32-bit word; the high and low
    halves are summed per word with ``bincount``. Bit fields never overlap, so the sum is the
    bitwise OR, and every partial sum stays below 2**32, exact in float64.
    """
    lengths = lengths.astype(np.int64)
    total = int(lengths.sum())
    pad = -total % 8
    if pad:
        values = np.append(values, np.uint64((1 << pad) - 1))
        lengths = np.append(lengths, pad)
        total += pad
    offsets = np.cumsum(lengths) - lengths
    word = offsets >> 5
    shift = (64 - (offsets & 31) - lengths).astype(np.uint64)
    shifted = values.astype(np.uint64) << shift
    high = (shifted >> np.uint64(32)).astype(np.float64)
    low = (shifted & np.uint64(0xFFFFFFFF)).astype(np.float64)
    count = total // 32 + 2
    words = np.bincount(word, weights=high, minlength=count) + np.bincount(word + 1, weights=low, minlength=count)
    stream = np.frombuffer(words.astype(np.uint64).astype(">u4").tobytes()[: total // 8], dtype=np.uint8)
    ff = np.nonzero(stream == 0xFF)[0]
    return np.insert(stream, ff + 1, 0).tobytes() if len(ff) else stream.tobytes()


def encode_sv1(arr: np.ndarray, precision: int) -> bytes:
    """Encode one frame (rows, cols) or (rows, cols, samples) of ``precision``-bit samples."""
    if not 2 <= precision <= 16:
        raise ValueError(f"JPEG Lossless supports 2 to 16 bits per sample, not {precision}")
    data = np.asarray(arr)
    if data.ndim == 2:
        data = data[..., np.newaxis]
    rows, cols, comps = data.shape
    x = data.astype(np.int64) & ((1 << precision) - 1)
    pred = np.empty_like(x)
    pred[:, 1:] = x[:, :-1]
    pred[1:, 0] = x[:-1, 0]
    pred[0, 0] = 1 << (precision - 1)
    diff = (x - pred) & 0xFFFF
    diff = np.where(diff >= 0x8000, diff - 0x10000, diff).reshape(-1)
    ssss = _BIT_LENGTH[np.minimum(np.abs(diff), 32768)].astype(np.int64)
    extra_bits = np.where(ssss == 16, 0, ssss)
    extra = np.where(diff < 0, diff + (np.int64(1) << ssss) - 1, diff) & ((np.int64(1) << extra_bits) - 1)
    bits, values = _huffman_bits(np.bincount(ssss, minlength=17))
    code_of, size_of = _codes(bits, values)
    lengths = size_of[ssss].astype(np.int64) + extra_bits
    words = (code_of[ssss] << extra_bits.astype(np.uint64)) | extra.astype(np.uint64)
    scan = _pack(words, lengths)
    sof = bytes([precision]) + rows.to_bytes(2, "big") + cols.to_bytes(2, "big") + bytes([comps])
    sof += b"".join(bytes([c + 1, 0x11, 0]) for c in range(comps))
    dht = bytes([0x00]) + bytes(bits) + bytes(values)
    sos = bytes([comps]) + b"".join(bytes([c + 1, 0x00]) for c in range(comps)) + bytes([1, 0, 0])

    def segment(marker: int, body: bytes) -> bytes:
        return bytes([0xFF, marker]) + (len(body) + 2).to_bytes(2, "big") + body

    return (b"\xff\xd8" + segment(0xC3, sof) + segment(0xC4, dht) + segment(0xDA, sos) + scan + b"\xff\xd9")
