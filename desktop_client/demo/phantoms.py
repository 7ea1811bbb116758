"""Anatomy-like pixel content: seeded ellipses, gradients and noise, one function per modality.

The chest phantom is described in patient millimetres (``Ellipse``) so the CT pixels, the RT
Structure Set contours and the RT Dose grid all agree on where the body and lungs are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Ellipse:
    """An axis-aligned ellipse in the patient's axial plane (millimetres)."""

    cx: float
    cy: float
    ax: float
    ay: float

    def inside(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return ((x - self.cx) / self.ax) ** 2 + ((y - self.cy) / self.ay) ** 2 <= 1.0

    def contour(self, points: int = 32) -> list[tuple[float, float]]:
        """Closed-planar contour points, counter-clockwise, first point not repeated."""
        return [(self.cx + self.ax * math.cos(2 * math.pi * k / points),
                 self.cy + self.ay * math.sin(2 * math.pi * k / points)) for k in range(points)]


def chest_structures(fraction: float) -> dict[str, Ellipse]:
    """Body and organ outlines of the chest phantom at ``fraction`` (0 = first slice, 1 = last)."""
    lung_scale = 0.55 + 0.45 * math.sin(math.pi * (0.15 + 0.8 * fraction))
    return {
        "BODY": Ellipse(0.0, 10.0, 160.0, 115.0),
        "LUNG_R": Ellipse(-72.0, -5.0, 52.0 * lung_scale, 78.0 * lung_scale),
        "LUNG_L": Ellipse(72.0, -5.0, 48.0 * lung_scale, 74.0 * lung_scale),
        "HEART": Ellipse(18.0, 25.0, 46.0 * (1.1 - lung_scale * 0.4), 38.0),
        "SPINE": Ellipse(0.0, 88.0, 17.0, 17.0),
        "AORTA": Ellipse(-18.0, 62.0, 12.0, 12.0),
    }


def ct_hu(x: np.ndarray, y: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """One axial CT slice in Hounsfield units on the (x, y) millimetre grid."""
    s = chest_structures(fraction)
    hu = np.full(x.shape, -1000.0, dtype=np.float32)
    body = s["BODY"].inside(x, y)
    hu[body] = 35.0
    fat_ring = body & ~Ellipse(0.0, 10.0, 146.0, 101.0).inside(x, y)
    hu[fat_ring] = -95.0
    for lung in ("LUNG_R", "LUNG_L"):
        hu[s[lung].inside(x, y)] = -840.0
    hu[s["HEART"].inside(x, y)] = 42.0
    hu[s["AORTA"].inside(x, y)] = 180.0
    spine = s["SPINE"].inside(x, y)
    hu[spine] = 650.0
    hu[spine & Ellipse(0.0, 88.0, 9.0, 9.0).inside(x, y)] = 250.0
    table = (y > 128.0) & (y < 136.0) & (np.abs(x) < 190.0)
    hu[table] = 120.0
    noise = rng.normal(0.0, 12.0, size=x.shape).astype(np.float32)
    hu += np.where(hu > -990.0, noise, noise * 0.3)
    return hu


def mr_signal(rows: int, columns: int, fraction: float, weighting: str,
              rng: np.random.Generator) -> np.ndarray:
    """One axial head MR slice (arbitrary units 0..~3000) for weighting "T1", "T2" or "FLAIR"."""
    yy, xx = np.mgrid[0:rows, 0:columns].astype(np.float32)
    u = (xx - columns / 2) / (columns / 2)
    v = (yy - rows / 2) / (rows / 2)
    size = 0.6 + 0.3 * math.sin(math.pi * (0.1 + 0.8 * fraction))
    head = (u / (0.78 * size + 0.1)) ** 2 + (v / (0.9 * size + 0.1)) ** 2
    brain = (u / (0.7 * size + 0.08)) ** 2 + (v / (0.82 * size + 0.08)) ** 2
    ventricles = ((np.abs(u) - 0.12 * size) / (0.08 * size)) ** 2 + (v / (0.3 * size)) ** 2
    tissue = {"T1": (700.0, 1300.0, 300.0, 1600.0), "T2": (1400.0, 900.0, 2600.0, 900.0),
              "FLAIR": (1100.0, 900.0, 150.0, 700.0)}[weighting]
    grey, white, csf, fat = tissue
    img = np.zeros((rows, columns), dtype=np.float32)
    img[head <= 1.0] = fat
    img[brain <= 1.0] = grey
    img[brain <= 0.75] = white
    img[(ventricles <= 1.0) & (brain <= 1.0)] = csf
    bias = 1.0 + 0.15 * u - 0.1 * v  # coil shading
    img *= bias
    noise = np.abs(rng.normal(0.0, 25.0, size=img.shape) + 1j * rng.normal(0.0, 25.0, size=img.shape))
    return img + noise.astype(np.float32)


def cr_brightness(rows: int, columns: int, rng: np.random.Generator) -> np.ndarray:
    """A PA chest radiograph as *displayed brightness* in [0, 1] (1 = white, bone)."""
    yy, xx = np.mgrid[0:rows, 0:columns].astype(np.float32)
    u = (xx - columns / 2) / (columns / 2)
    v = (yy - rows * 0.55) / (rows / 2)
    img = np.full((rows, columns), 0.02, dtype=np.float32)  # direct exposure: black
    body = (u / 0.85) ** 2 + (v / 1.15) ** 2 <= 1.0
    img[body] = 0.55
    for side in (-1.0, 1.0):
        lung = ((u - side * 0.35) / 0.27) ** 2 + ((v + 0.2) / 0.55) ** 2 <= 1.0
        img[lung] = 0.18
        for k in range(9):  # ribs: arcs across each lung
            centre = -0.7 + k * 0.16
            arc = np.abs(v - centre - 0.25 * ((u - side * 0.35) / 0.3) ** 2) < 0.018
            img[arc & lung] = 0.62
    img[(np.abs(u) < 0.06) & body] = 0.85  # spine
    heart = ((u - 0.12) / 0.26) ** 2 + ((v - 0.15) / 0.3) ** 2 <= 1.0
    img[heart & body] = np.maximum(img[heart & body], 0.5)
    img += rng.normal(0.0, 0.015, size=img.shape).astype(np.float32)
    return np.clip(img, 0.0, 1.0)


def us_frame(rows: int, columns: int, phase: float, rng: np.random.Generator,
             top: int) -> np.ndarray:
    """One RGB ultrasound frame (uint8): speckled sector below a ``top``-pixel console band."""
    yy, xx = np.mgrid[0:rows, 0:columns].astype(np.float32)
    apex_x, apex_y = columns / 2, float(top) - 10.0
    r = np.hypot(xx - apex_x, yy - apex_y)
    theta = np.arctan2(xx - apex_x, yy - apex_y)
    depth = rows - top - 20.0
    sector = (r > 25.0) & (r < depth) & (np.abs(theta) < math.radians(36.0))
    echo = 0.35 + 0.25 * np.sin(r / 23.0) ** 2 + 0.1 * (1 - r / depth)
    cyst_x = apex_x + 60.0 * math.cos(2 * math.pi * phase)
    cyst_y = apex_y + depth * 0.55 + 20.0 * math.sin(2 * math.pi * phase)
    cyst = ((xx - cyst_x) / 45.0) ** 2 + ((yy - cyst_y) / 30.0) ** 2 <= 1.0
    echo = np.where(cyst, 0.04, echo)
    speckle = rng.rayleigh(0.5, size=echo.shape).astype(np.float32)
    grey = np.clip(echo * speckle * 255.0, 0, 255) * sector
    rgb = np.repeat(grey[..., None], 3, axis=2)
    flow = (((xx - apex_x + 70.0) / 22.0) ** 2 + ((yy - apex_y - depth * 0.35) / 14.0) ** 2 <= 1.0) & sector
    towards = math.sin(2 * math.pi * phase) >= 0
    rgb[flow] = (200.0, 30.0, 20.0) if towards else (20.0, 60.0, 210.0)
    return rgb.astype(np.uint8)


def dose_gy(x: np.ndarray, y: np.ndarray, z: float, z_centre: float) -> np.ndarray:
    """A smooth dose cloud (Gy) centred on the right lung, ~60 Gy peak."""
    d2 = ((x + 72.0) / 45.0) ** 2 + ((y + 5.0) / 50.0) ** 2 + ((z - z_centre) / 40.0) ** 2
    return (60.0 * np.exp(-d2) + 2.0 * np.exp(-d2 / 9.0)).astype(np.float32)
