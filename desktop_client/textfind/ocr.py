"""The OCR models: PaddleOCR's PP-OCRv4 detector and recogniser on onnxruntime (RapidOCR).

The models ship inside the ``rapidocr-onnxruntime`` wheel, so nothing is downloaded at run time.
Loading them takes about a second and ~100 MB, so each process loads them **once, lazily**, on
the first search (in a worker process or a background thread, never on the UI thread); every
later call reuses them. Each model is loaded only when first needed: the detector on the first
search (or ``warm_up``), the recogniser on the first line there is to read — a text-free CT whose
candidate boxes are all anatomy-sized never loads it. The angle classifier is never loaded:
burned-in text is upright or at 90°, and the 90° case is handled by searching a rotated copy
(see ``find``).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from desktop_client.core.errors import UploaderError

#: Lines the recogniser reads with a lower confidence are not reported (reference §3).
MIN_SCORE = 0.5
#: The version of the models and settings; part of every cache key.
ENGINE_ID = "rapidocr-onnxruntime-1.4.4/ppocrv4/det736x3/max1536/rot512/snap/fullrange-if-drawn/v8"

#: The detector's working size for the shorter image side (PaddleOCR's default).
DET_SIDE = 736
#: The rotated pass looks for vertical labels, which are rarely the smallest text: a cheaper size.
ROTATED_SIDE = 512
#: The most the detector enlarges an image.
MAX_UPSCALE = 3
#: Larger images are reduced to this longer side first (text on a 3,000-pixel radiograph is
#: large; detection cost grows with the area).
MAX_SIDE = 1536

_engine: Any = None
_lock = threading.Lock()
_run_lock = threading.Lock()


class OcrUnavailable(UploaderError, RuntimeError):
    """The OCR package or its models cannot be loaded (a broken install)."""


@dataclass(frozen=True, slots=True)
class Line:
    """One line as the OCR returns it: four corner points (x, y), text and score."""

    points: tuple[tuple[float, float], ...]
    text: str
    score: float


def _threads() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def _build() -> Any:
    """RapidOCR's pipeline with the detector loaded and the recogniser loaded on first use."""
    try:
        from rapidocr_onnxruntime import main as rapid
        from rapidocr_onnxruntime.utils import UpdateParameters, read_yaml, update_model_path
    except Exception as exc:  # ImportError, or cv2/onnxruntime failing to load
        raise OcrUnavailable(f"the text finder is not installed correctly ({exc}); "
                             "reinstall the application") from None

    class LazyOcr(rapid.RapidOCR):
        """``RapidOCR`` without its eager ``__init__``: the same pre/post-processing methods,
        the detector now, the recogniser when a line is first read, no angle classifier."""

        def __init__(self, **kwargs: Any) -> None:  # noqa: D401 - replaces the eager loader
            config = UpdateParameters()(update_model_path(read_yaml(rapid.DEFAULT_CFG_PATH)), **kwargs)
            glob = config["Global"]
            self.print_verbose, self.text_score = glob["print_verbose"], glob["text_score"]
            self.min_height, self.width_height_ratio = glob["min_height"], glob["width_height_ratio"]
            self.max_side_len, self.min_side_len = glob["max_side_len"], glob["min_side_len"]
            self.use_det, self.use_cls, self.use_rec = True, False, True
            self.text_det = rapid.TextDetector(config["Det"])
            self._rec_config: dict[str, Any] | None = config["Rec"]
            self._rec: Any = None

        @property
        def text_rec(self) -> Any:
            if self._rec is None:
                self._rec = rapid.TextRecognizer(self._rec_config)
            return self._rec

        @property
        def rec_loaded(self) -> bool:
            return self._rec is not None

    threads = _threads()
    try:
        return LazyOcr(print_verbose=False, text_score=MIN_SCORE, max_side_len=MAX_SIDE,
                       intra_op_num_threads=threads, inter_op_num_threads=1)
    except Exception as exc:  # a model file missing or unreadable: a broken install
        raise OcrUnavailable(f"the text finder is not installed correctly ({exc}); "
                             "reinstall the application") from None


def engine() -> Any:
    """The process's OCR engine (detector loaded, recogniser on first use), built once (thread-safe)."""
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                _engine = _build()
    return _engine


def warm_up(*, recogniser: bool = True) -> None:
    """Load the models now (a worker started ahead of its first search calls this)."""
    ocr = engine()
    if recogniser:
        with _run_lock:
            ocr.text_rec  # noqa: B018 - the property loads the model


def loaded() -> bool:
    """Whether this process has loaded the detector already (for tests and the self-test)."""
    return _engine is not None


def recogniser_loaded() -> bool:
    """Whether this process has loaded the recogniser (tests: text-free images never need it)."""
    return _engine is not None and bool(_engine.rec_loaded)


Points = tuple[tuple[float, float], ...]


def read_lines(rgb: np.ndarray, keep: Callable[[Points], bool] | None = None,
               side: int | None = None) -> list[Line]:
    """Detect the text lines of an (H, W, 3) uint8 RGB image and read those ``keep`` accepts.

    Recognition costs more than detection (≈ 60 ms a line on 2 cores): a second look at an image
    (the rotated pass, the full-range view) recognises only the lines the first look missed.
    ``side`` lowers the detector's working size (``DET_SIDE``) for a cheaper pass.
    """
    ocr = engine()
    with _run_lock:
        return _read(ocr, rgb, keep, side or DET_SIDE)


def _read(ocr: Any, rgb: np.ndarray, keep: Callable[[Points], bool] | None, side: int) -> list[Line]:
    img = np.ascontiguousarray(rgb[:, :, ::-1])
    raw_h, raw_w = img.shape[:2]
    # The detector enlarges the shorter side to DET_SIDE (9-pixel text on a 256² MR needs about
    # threefold to be detected whole), but never more than MAX_UPSCALE-fold: a 64-pixel image
    # blown up to 736 would cost 130 times the work for text too small to be there.
    ocr.text_det.limit_side_len = int(min(side, max(64, MAX_UPSCALE * min(raw_h, raw_w))))
    img, ratio_h, ratio_w = ocr.preprocess(img)
    record: dict[str, Any] = {"preprocess": {"ratio_h": ratio_h, "ratio_w": ratio_w}}
    img, record = ocr.maybe_add_letterbox(img, record)
    boxes, _ = ocr.auto_text_det(img)
    if boxes is None or len(boxes) == 0:
        return []
    origin = ocr._get_origin_points(boxes, record, raw_h, raw_w)  # noqa: SLF001
    points = [tuple((float(x), float(y)) for x, y in quad) for quad in origin]
    chosen = [i for i, pts in enumerate(points) if keep is None or keep(pts)]
    if not chosen:
        return []
    crops = ocr.get_crop_img_list(img, [boxes[i] for i in chosen])
    read, _ = ocr.text_rec(crops, False)
    return [Line(points[i], str(res[0]), float(res[1])) for i, res in zip(chosen, read)]
