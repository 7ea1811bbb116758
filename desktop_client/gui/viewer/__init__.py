"""Image viewer: frame scrolling, zoom/pan, window/level, rectangle tool, Before/After preview."""

from desktop_client.gui.viewer.canvas import ImageCanvas
from desktop_client.gui.viewer.widget import ScanViewer

__all__ = ["ImageCanvas", "ScanViewer"]
