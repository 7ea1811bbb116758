"""Deterministic synthetic demo studies with fake PHI in headers *and* burned into pixels.

``generate_demo(outdir, seed=0, **scale)`` writes 3 patients / 5 studies covering CT, MR, CR
(MONOCHROME1), multi-frame US (RGB and JPEG Baseline), RT Structure Set, RT Dose, SR and an
encapsulated PDF across eight transfer syntaxes, plus ``demo-manifest.json`` recording every
file and the boxes of burned-in text. ``ensure_demo_dataset()`` keeps one copy (seed 0) in the
application cache for the app's built-in demo.
"""

from desktop_client.demo.cache import ensure_demo_dataset
from desktop_client.demo.generator import SMALL_SCALE, DemoError, DemoScale, generate_demo
from desktop_client.demo.manifest import DEMO_VERSION, MANIFEST_NAME, BurnedBox, DemoFile, DemoManifest

__all__ = [
    "DEMO_VERSION", "MANIFEST_NAME", "BurnedBox", "DemoError", "DemoFile", "DemoManifest",
    "DemoScale", "SMALL_SCALE", "ensure_demo_dataset", "generate_demo",
]
