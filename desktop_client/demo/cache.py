"""The app's built-in demo data set: generated once into the cache and reused while valid.

Generation goes into a private temporary folder next to the target and is renamed into place, so
a crash or a second app instance never leaves (or sees) a half-written data set under the final
name.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

from desktop_client.core.paths import cache_dir
from desktop_client.demo.generator import DemoScale, generate_demo
from desktop_client.demo.manifest import DEMO_VERSION, MANIFEST_NAME, DemoManifest

DEMO_FOLDER = "demo-study"
DEMO_SEED = 0
#: Size options of the cached copy (the defaults; tests shrink it).
DEMO_SCALE: dict[str, object] = {}


def _is_complete(folder: Path) -> bool:
    """True when ``folder`` holds a current-version, default-size seed-0 set with every file present."""
    try:
        manifest = DemoManifest.load(folder)
    except (OSError, ValueError, KeyError, TypeError):
        return False
    expected_scale = asdict(DemoScale.from_options(DEMO_SCALE))
    if (manifest.version != DEMO_VERSION or manifest.seed != DEMO_SEED or not manifest.files
            or manifest.scale != expected_scale):
        return False
    for entry in manifest.files:
        path = folder / entry.path
        if not path.is_file() or path.stat().st_size != entry.size:
            return False
    return True


def ensure_demo_dataset() -> Path:
    """Path of the cached demo data set (seed 0), generating or replacing it when needed."""
    base = cache_dir()
    target = base / DEMO_FOLDER
    if _is_complete(target):
        return target
    work = Path(tempfile.mkdtemp(prefix=".demo-study-", dir=base))
    try:
        fresh = work / "data"
        generate_demo(fresh, seed=DEMO_SEED, **DEMO_SCALE)
        stale = None
        if target.exists():
            stale = work / "stale"
            target.rename(stale)
        try:
            fresh.rename(target)
        except OSError:
            # Another process finished first; use its copy if it is complete.
            if not _is_complete(target):
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not (target / MANIFEST_NAME).is_file():
        raise RuntimeError(f"the demo data set could not be created in {target}")
    return target
