"""Write ``packaging/LICENSES.md``: every component the desktop bundle contains, with its licence.

    .venv/bin/python packaging/licenses.py            # after packaging/build.sh: exact bundle contents
    .venv/bin/python packaging/licenses.py --check    # exit 1 if LICENSES.md is out of date

Python distributions are found from the PyInstaller build's table of contents
(``build/pyinstaller/xnat-desktop-uploader/{COLLECT,PYZ}-00.toc``): every collected file is
mapped back to the installed distribution that owns it (its ``RECORD``), and the licence is read
from that distribution's metadata (``License-Expression``, ``License``, ``License ::``
classifiers). Without a build, the app's runtime dependency closure is listed instead. Shared
libraries taken from the build machine (not from a wheel) are listed with their Debian package.

The same functions back ``tests/packaging/test_licenses.py``: no GPL-only component may be
bundled, and the committed file must name every bundled distribution.
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata as md
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "pyinstaller" / "xnat-desktop-uploader"
OUTPUT = ROOT / "packaging" / "LICENSES.md"
PROJECT = "xnat-desktop-uploader"

#: Licence notes for libraries that wheels carry inside them (not visible in Python metadata).
EMBEDDED = {
    "pyside6-essentials": "Qt 6 libraries and plugins (LGPL-3.0-only), shipped as separate shared libraries",
    "python-gdcm": "GDCM C++ library (BSD-3-Clause) with its bundled CharLS, OpenJPEG and IJG libjpeg",
    "pylibjpeg-openjpeg": "OpenJPEG (BSD-2-Clause)",
    "pyjpegls": "CharLS (BSD-3-Clause)",
    "imagecodecs": "about 40 codec libraries (libjpeg-turbo, OpenJPEG, OpenJPH, CharLS, zlib-ng, zstd, "
                   "libtiff, libwebp, libavif, ...; BSD/MIT/zlib-style, listed in its `licenses/` "
                   "metadata folder)",
    "jpeglib": "IJG libjpeg 6b–9f (IJG licence), libjpeg-turbo (IJG/BSD-3-Clause/zlib), mozjpeg",
    "pillow": "libjpeg-turbo, libpng, zlib, libtiff, libwebp, libavif, FreeType (FTL), LittleCMS (MIT), "
              "HarfBuzz (MIT), OpenJPEG",
    "numpy": "OpenBLAS (BSD-3-Clause) and the GCC Fortran runtime (GPL-3.0 with the GCC Runtime "
             "Library Exception, which permits distribution in non-GPL programs)",
    "cryptography": "OpenSSL 3 (Apache-2.0)",
    "onnxruntime": "ONNX Runtime (MIT) with its third-party notices in the distribution's metadata",
    "opencv-python-headless": "OpenCV (Apache-2.0); FFmpeg (LGPL-2.1-or-later), OpenBLAS, libpng, libavif, "
                              "libaom as shared libraries",
    "rapidocr-onnxruntime": "PaddleOCR PP-OCRv4 detection/recognition models (Apache-2.0)",
    "shapely": "GEOS (LGPL-2.1) as shared libraries",
    "pyclipper": "Clipper (Boost Software License 1.0)",
}


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    version: str
    licence: str
    bundled: bool = True


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


#: Licences whose metadata does not say what applies to the bundle, as SPDX expressions.
LICENCE_OVERRIDES = {
    # Only PyInstaller's bootloader and runtime loader modules are bundled; its licence exception
    # lets the frozen application be distributed under any licence.
    "pyinstaller": "GPL-2.0-or-later WITH Bootloader-exception",
}


def licence_of(dist: md.Distribution) -> str:
    """The licence a distribution declares: SPDX expression, else classifiers, else License text."""
    meta = dist.metadata
    override = LICENCE_OVERRIDES.get(_key(meta["Name"]))
    if override:
        return override
    expression = meta.get("License-Expression")
    if expression:
        return expression.strip()
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or []
                   if c.startswith("License ::") and c.strip() != "License :: OSI Approved"]
    if classifiers:
        return " / ".join(classifiers)
    text = (meta.get("License") or "").strip()
    first = text.splitlines()[0] if text else ""
    return first if 0 < len(first) <= 80 else "see the distribution's licence file"


def is_gpl_only(licence: str) -> bool:
    """True when every alternative of the licence is GPL (not LGPL, not GPL-or-something-else)."""
    alternatives = re.split(r"\s+OR\s+|\s*/\s*", licence)

    def gpl(text: str) -> bool:
        upper = text.upper()
        # "GPL-x WITH <exception>" (GCC runtime, Classpath, Bootloader ...) permits distribution
        # inside a program under another licence, so it is not GPL-only.
        return ("GPL" in upper or "GENERAL PUBLIC" in upper) and "LGPL" not in upper \
            and "LESSER" not in upper and "LIBRARY" not in upper and " WITH " not in upper
    return bool(alternatives) and all(gpl(a) for a in alternatives)


#: Runtime distributions installed without their declared dependencies (scripts/bootstrap.sh):
#: rapidocr-onnxruntime declares the full opencv-python (a second Qt); pyproject lists what it
#: really needs, with opencv-python-headless. Its declared-but-absent requirements are skipped.
NO_DEPS_INSTALLS = ("rapidocr-onnxruntime",)


def runtime_closure(root: str = PROJECT) -> dict[str, md.Distribution]:
    """The project and its runtime requirements, recursively (no extras, markers evaluated)."""
    found: dict[str, md.Distribution] = {}
    todo = [root, *(NO_DEPS_INSTALLS if root == PROJECT else ())]
    while todo:
        name = todo.pop()
        if _key(name) in found:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        found[_key(name)] = dist
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return found


def _owners() -> dict[Path, md.Distribution]:
    owners: dict[Path, md.Distribution] = {}
    for dist in md.distributions():
        for file in dist.files or []:
            owners[Path(dist.locate_file(file)).resolve()] = dist
    return owners


def _toc_sources(build: Path) -> list[Path]:
    sources: list[Path] = []
    for toc in ("COLLECT-00.toc", "PYZ-00.toc"):
        data = ast.literal_eval((build / toc).read_text())
        # COLLECT: ([entries], ...); PYZ: ("PYZ-00.pyz", [entries]). Take the first list.
        entries = next((part for part in data if isinstance(part, list)), []) if isinstance(data, tuple) else data
        sources += [Path(entry[1]) for entry in entries if isinstance(entry, tuple) and len(entry) == 3
                    and entry[1] and Path(entry[1]).is_absolute()]
    return sources


def bundled(build: Path = BUILD) -> tuple[dict[str, md.Distribution], list[Path]]:
    """(distributions that own bundled files, bundled files no distribution owns)."""
    owners = _owners()
    project_dir = (ROOT / "desktop_client").resolve()
    dists: dict[str, md.Distribution] = {}
    orphans: list[Path] = []
    for source in _toc_sources(build):
        resolved = source.resolve()
        dist = owners.get(resolved)
        if dist is None and resolved.is_relative_to(project_dir):
            dist = md.distribution(PROJECT)
        if dist is not None:
            dists.setdefault(_key(dist.metadata["Name"]), dist)
        else:
            orphans.append(source)
    return dists, orphans


def system_libraries(orphans: Iterable[Path]) -> list[tuple[str, str]]:
    """(file name, Debian package) for shared libraries copied from the build machine."""
    libs = sorted({p for p in orphans if ".so" in p.name and not str(p).startswith((sys.prefix, sys.base_prefix))
                   and "python3" not in p.name})
    # dpkg records one spelling of each path (/lib or /usr/lib, merged-/usr systems have both):
    # ask for every spelling in one call and map the answers back by file name.
    spellings = set()
    for lib in libs:
        for path in (lib, lib.resolve()):
            text = str(path)
            spellings.add(text)
            spellings.add(text[4:] if text.startswith("/usr/lib/") else "/usr" + text if text.startswith("/lib/") else text)
    packages: dict[str, str] = {}
    try:
        out = subprocess.run(["dpkg-query", "-S", *sorted(spellings)], capture_output=True, text=True,
                             timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    for line in out.splitlines():
        owner, _, path = line.partition(": ")
        packages.setdefault(Path(path).name, owner.split(":")[0])
    return [(lib.name, packages.get(lib.name) or packages.get(lib.resolve().name) or "(not from a Debian package)")
            for lib in libs]


def components(build: Path = BUILD) -> tuple[list[Component], list[tuple[str, str]], bool]:
    closure = runtime_closure()
    have_build = (build / "COLLECT-00.toc").is_file()
    if have_build:
        dists, orphans = bundled(build)
        system = system_libraries(orphans)
    else:
        dists, system = closure, []
    rows = [Component(d.metadata["Name"], d.version, licence_of(d)) for d in dists.values()]
    rows += [Component(d.metadata["Name"], d.version, licence_of(d), bundled=False)
             for k, d in closure.items() if k not in dists]
    rows.sort(key=lambda c: (not c.bundled, c.name.lower()))
    return rows, system, have_build


HEADER = """\
# Licences of the desktop application's components

Generated by `packaging/licenses.py` from the PyInstaller build's contents and each installed
distribution's metadata; regenerate after changing dependencies (`tests/packaging/test_licenses.py`
fails when a bundled distribution is missing here).

The application itself is **BSD-3-Clause**. It bundles the components below, each under its own
licence; the bundle as a whole is distributed under the terms of each.

## Obligations to keep

* **Qt / PySide6 / shiboken6 (LGPL-3.0-only, chosen from "LGPL-3.0-only OR GPL-2.0-only OR
  GPL-3.0-only")**: Qt is shipped as separate shared libraries and PySide6/shiboken6 as files on
  disk (not inside the archive), so users can replace them with their own builds. Distribute with
  the build: this file, the LGPL-3.0 and GPL-3.0 texts, a notice that Qt is used under the LGPL,
  and where to obtain the Qt/PySide6 source of the version shipped (the Qt Project's source
  archives for that version). Do not link Qt statically and do not forbid reverse engineering for
  debugging such modifications in the end-user licence.
* **fpdf2 (LGPL-3.0-only)**: shipped as Python source files on disk (`_internal/fpdf/`), which the
  user may replace; same notice and source-availability terms as above.
* **OCR models (Apache-2.0)**: the burned-in text finder ships PaddleOCR's PP-OCRv4 text
  detection and recognition models (``ch_PP-OCRv4_det_infer.onnx``, ``ch_PP-OCRv4_rec_infer.onnx``,
  and the unused ``ch_ppocr_mobile_v2.0_cls_infer.onnx``) as converted to ONNX by RapidOCR, inside
  the ``rapidocr-onnxruntime`` package (``_internal/rapidocr_onnxruntime/models/``). PaddleOCR and
  its models: Copyright (c) PaddlePaddle Authors, Apache License 2.0
  (https://github.com/PaddlePaddle/PaddleOCR); RapidOCR: Copyright (c) RapidAI, Apache License
  2.0. Keep this notice and the Apache-2.0 text with the bundle.
* **OpenCV (opencv-python-headless, Apache-2.0)** bundles FFmpeg's libavcodec/libavformat/libavutil
  (LGPL-2.1-or-later) and OpenBLAS/libgfortran (BSD-3-Clause; GCC Runtime Library Exception) as
  separate shared libraries in ``opencv_python_headless.libs/``; **Shapely** bundles GEOS
  (LGPL-2.1) the same way in ``shapely.libs/``. As for Qt: shipped unmodified as replaceable shared
  libraries; their source is available from the projects (ffmpeg.org, libgeos.org) for the
  versions named in the file names. The headless build contains no Qt (the full
  ``opencv-python`` would, and is never installed: it breaks PySide6).
* **MPL-2.0** (certifi, jpeglib): the bundled files are unmodified; say where their source is
  available (their PyPI source distributions).
* **Apache-2.0** components (requests, python-gdcm's wheel, cryptography, ...): keep their NOTICE
  files. The spec copies every runtime dependency's `.dist-info` folder (licence and NOTICE files)
  and this file into the bundle (`_internal/`); ship them with every copy.
* The PyInstaller bootloader is GPL-2.0 with the bootloader exception, which allows distributing
  the frozen application under any licence. The CPython runtime is under the PSF-2.0 licence.

## GPL-only components: not bundled

* **pylibjpeg-libjpeg** (GPL-3.0; JPEG Extended 12-bit and lossless decoding): never installed by
  default (`pip install .[gpl]` only) and excluded by the spec even when installed. The app decodes
  those syntaxes with GDCM and imagecodecs instead.
* `tests/packaging/test_licenses.py` fails when any GPL-only distribution is in the bundle or the
  runtime dependency closure.
"""


def render(rows: list[Component], system: list[tuple[str, str]], have_build: bool) -> str:
    lines = [HEADER, "## Python distributions", ""]
    lines.append("Read from the build's contents." if have_build else
                 "Read from the runtime dependency closure (no build was present).")
    lines += ["", "| Distribution | Version | Licence (package metadata) | Bundled | Also contains |",
              "| --- | --- | --- | --- | --- |"]
    for c in rows:
        bundled_text = "yes" if c.bundled else "no (not imported by the app)"
        lines.append(f"| {c.name} | {c.version} | {c.licence} | {bundled_text} | {EMBEDDED.get(_key(c.name), '')} |")
    if system:
        lines += ["", "## Shared libraries from the build machine (Linux)", "",
                  "Copied by PyInstaller from the build system; licences are in each package's "
                  "`/usr/share/doc/<package>/copyright` (X11/XCB/Wayland: MIT; GLib/GTK support "
                  "libraries: LGPL-2.1-or-later; libgcc/libstdc++: GPL-3.0 with the GCC Runtime "
                  "Library Exception; OpenSSL 3: Apache-2.0; zlib: Zlib).", "",
                  "| Library | Debian package |", "| --- | --- |"]
        lines += [f"| {name} | {package} |" for name, package in system]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if LICENSES.md is out of date")
    args = parser.parse_args(argv)
    text = render(*components())
    if args.check:
        if OUTPUT.read_text() != text:
            print("packaging/LICENSES.md is out of date: run packaging/licenses.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
