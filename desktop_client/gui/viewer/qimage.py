"""numpy → QImage conversion (copies, so the QImage never points at freed numpy memory)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap


def to_qimage(arr: np.ndarray) -> QImage:
    """(H, W) uint8 grey or (H, W, 3) uint8 RGB → an independent QImage."""
    arr = np.ascontiguousarray(arr)
    if arr.dtype != np.uint8:
        raise ValueError("only 8-bit display images can be shown")
    h, w = arr.shape[:2]
    if arr.ndim == 2:
        return QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_Grayscale8).copy()
    if arr.ndim == 3 and arr.shape[2] == 3:
        return QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_RGB888).copy()
    raise ValueError(f"cannot show an image of shape {arr.shape}")


def to_pixmap(arr: np.ndarray) -> QPixmap:
    return QPixmap.fromImage(to_qimage(arr))
