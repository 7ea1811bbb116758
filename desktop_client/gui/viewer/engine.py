"""The pixel engine as the GUI calls it (worker threads only).

The "after" image and the thumbnails come from ``desktop_client.pixels`` — the same code that
redacts at upload — so what the researcher approves is what is sent. Imported on first use so the
viewer module loads (and its pure parts are testable) even where the engine cannot be imported.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from desktop_client.core.geometry import Rect
from desktop_client.scanning.model import Instance

THUMB_SIZE = (128, 128)


def render_after(instance: Instance, frame: int, rectangles: Sequence[Rect]) -> np.ndarray:
    """Full-resolution (H, W, 3) uint8 display of ``frame`` with the rectangles redacted."""
    from desktop_client.pixels import render

    return render(instance, frame=frame, rectangles=list(rectangles))


def thumbnail(instance: Instance, size: tuple[int, int] = THUMB_SIZE,
              rectangles: Sequence[Rect] | None = None) -> np.ndarray:
    """Disk-cached (h, w, 3) uint8 thumbnail, redacted when rectangles are given."""
    from desktop_client.pixels import thumbnail as _thumbnail

    return _thumbnail(instance, size=size, rectangles=list(rectangles) if rectangles else None)
