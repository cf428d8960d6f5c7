"""What the HTTP service does with an image, without the HTTP: the library behind
``mnist-cnn serve`` (:mod:`mnist_cnn.serve.app`), usable and testable on its own.

An upload is checked (is it an image, is it under 40 megapixels: read from the
header before decoding), decoded, normalised the MNIST way by
:mod:`mnist_cnn.preprocess` and classified; a whole number is read by
:func:`mnist_cnn.vision.reading.read_number`. Answers are built by the library's own
``to_dict`` methods (:meth:`mnist_cnn.inference.predictor.Prediction.to_dict`,
:meth:`mnist_cnn.vision.reading.ReadResult.to_dict`), so the service answers in the
shape ``mnist-cnn predict --json`` and ``read --json`` print.

Input problems raise :class:`RejectedInput`, which carries the HTTP status
and a short error code; its message is the CLI's one-line message.

Imports numpy, Pillow, scipy and onnxruntime only (under the ONNX runtime);
never TensorFlow.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .. import preprocess
from ..errors import ImageError, MnistCnnError
from ..inference.files import FileAnswer
from ..inference.predictor import Prediction
from ..vision import normalise, reading
from ..vision.resolution import upscaled_from_small

__all__ = [
    "DigitService",
    "RejectedInput",
    "Upload",
    "check_image_header",
    "decode_base64_image",
    "png_base64",
]

log = logging.getLogger(__name__)

# Names preprocess gives inputs that are not files; replaced by the upload's name.
_ANONYMOUS = ("<bytes>", "<array>", "<image>")


class RejectedInput(MnistCnnError):
    """A request the service refuses, with the HTTP status to answer.

    Attributes:
        status: 400, 413, 415 or 422.
        error: A short machine-readable code, e.g. ``"no_digit"``.
        detail: The one-line message (for images, the CLI's ``error:`` line).
    """

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail


@dataclass(frozen=True)
class Upload:
    """One image sent to the service: a name for messages and its encoded bytes."""

    name: str
    data: bytes


@dataclass
class StageTimes:
    """Seconds spent per stage of one request (decode, preprocess, inference)."""

    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, start: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + (now - start)
        return now


def check_image_header(upload: Upload) -> None:
    """Refuse what is not an image (415) or is over 40 megapixels (413), from the header.

    Raises:
        RejectedInput: With the status to answer.
    """
    if not upload.data:
        raise RejectedInput(422, "empty_file", f"{upload.name}: the file is empty")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(upload.data)) as image:
                width, height = image.size
        except Image.DecompressionBombError:
            raise RejectedInput(
                413,
                "image_too_large",
                f"{upload.name}: the image is too large (more than "
                f"{preprocess.MAX_PIXELS:,} pixels); shrink or crop it first",
            ) from None
        except Image.UnidentifiedImageError:
            raise RejectedInput(
                415, "not_an_image", f"{upload.name}: not an image file Pillow can read"
            ) from None
        except Exception as exc:  # noqa: BLE001 - plugins raise many types on bad headers
            raise RejectedInput(
                422, "damaged_image", f"{upload.name}: not a readable image ({exc})"
            ) from None
    if width * height > preprocess.MAX_PIXELS:
        raise RejectedInput(
            413,
            "image_too_large",
            f"{upload.name}: the image is too large ({width}x{height} = {width * height:,} "
            f"pixels; the limit is {preprocess.MAX_PIXELS:,}). Shrink or crop it first.",
        )


def decode_base64_image(value: str, name: str) -> bytes:
    """The bytes of a base64 image or a ``data:image/...;base64,`` URL (what a canvas sends).

    Raises:
        RejectedInput: 422 when it is not base64.
    """
    text = value.strip()
    if text.startswith("data:"):
        header, _, text = text.partition(",")
        if ";base64" not in header:
            raise RejectedInput(
                422, "invalid_base64", f"{name}: a data URL must be base64 (data:...;base64,...)"
            )
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise RejectedInput(
            422, "invalid_base64", f"{name}: not valid base64 image data"
        ) from None


def png_base64(image28: np.ndarray) -> str:
    """A float image in [0, 1] as a base64 grayscale PNG (the 28x28 the model saw)."""
    pixels = (np.clip(np.asarray(image28, np.float32), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _named(exc: ImageError, name: str) -> str:
    message = str(exc)
    for anonymous in _ANONYMOUS:
        if message.startswith(anonymous):
            return name + message[len(anonymous) :]
    return message


class DigitService:
    """Classify digits and read numbers from encoded images.

    Args:
        classify: Maps float32 ``(N, 28, 28)`` images in [0, 1] to ``(N, 10)``
            probabilities (:class:`mnist_cnn.inference.onnx_runtime.OnnxClassifier`,
            or a Keras :class:`mnist_cnn.inference.predictor.Predictor`).
        verify: The segment verifier for reading numbers, or ``None``.
        min_confidence: Answers below it are marked ``uncertain``.
        info: Facts for ``/readyz`` (model files, runtime).
        classify_small: Reads the digit of a picture blown up from a small
            source (:func:`mnist_cnn.vision.resolution.upscaled_from_small`), as
            ``predict`` does with the packaged models; ``None``: ``classify`` reads
            every picture.
    """

    def __init__(
        self,
        classify: Callable[[np.ndarray], np.ndarray],
        verify=None,
        *,
        min_confidence: float = 0.6,
        info: dict | None = None,
        classify_small: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        self.classify = classify
        self.classify_small = classify_small
        self.verify = verify
        self.min_confidence = min_confidence
        self.info = dict(info or {})
        self.ready = False

    def warm(self) -> None:
        """Run each model once (the first call of a session is slow), then mark ready."""
        blank = np.zeros((1, 28, 28), np.float32)
        self.classify(blank)
        if self.classify_small is not None:
            self.classify_small(blank)
        if self.verify is not None:
            self.verify(np.zeros((1, 28, 28, 2), np.float32))
        image = np.ones((60, 140), np.float32)
        image[15:45, 20:24] = 0.0  # a '1'
        image[15:45, 80:84] = 0.0  # and another
        try:
            reading.read_number(image, self.classify, self.verify)
        except ImageError:
            log.warning("warm-up reading found no digit")
        self.ready = True

    def _decode(self, upload: Upload, times: StageTimes) -> np.ndarray:
        start = time.perf_counter()
        check_image_header(upload)
        try:
            gray = preprocess.load_image(upload.data)
        except ImageError as exc:
            raise RejectedInput(422, "damaged_image", _named(exc, upload.name)) from None
        times.add("decode", start)
        return gray

    def _guard(self, upload: Upload, work):
        """Run ``work``; an image the pipeline cannot handle is the client's 422, never a 500."""
        try:
            return work()
        except RejectedInput:
            raise
        except ImageError as exc:
            message = _named(exc, upload.name)
            code = "no_digit" if "no digit" in message else "unreadable_image"
            raise RejectedInput(422, code, message) from None
        except Exception as exc:  # noqa: BLE001 - a bug the image triggered: logged, never a 500
            log.exception("cannot process %s", upload.name)
            raise RejectedInput(
                422, "unprocessable_image", f"{upload.name}: cannot process the image ({exc})"
            ) from None

    def predict(
        self, uploads: Sequence[Upload], *, include_input: bool = False, raw: bool = False
    ) -> tuple[list[dict], StageTimes]:
        """Classify one digit per image.

        Args:
            uploads: The images.
            include_input: Add each 28x28 model input to the answer.
            raw: The images already are 28x28 MNIST-style (white on black), as
                with ``mnist-cnn predict --raw``: no preprocessing.

        Returns:
            One dict per image, ``{"file": name, **Prediction.to_dict()}`` (plus
            ``digits_side_by_side``, with ``uncertain`` set, when the image holds
            several digits, ``not_a_digit`` when its shape is no digit's, and
            ``small_source`` when the model for small sources read it, as
            ``predict --json`` prints; and ``input_png``, the
            28x28 model input as base64 PNG, when asked), and the time spent per stage.

        Raises:
            RejectedInput: For the first image that cannot be used.
        """
        times = StageTimes()
        images = []
        several = []  # digit-sized pieces side by side, per image
        small = []  # blown up from a small source, per image
        for upload in uploads:
            gray = self._decode(upload, times)
            if raw:
                if gray.shape != (preprocess.MNIST_SIZE, preprocess.MNIST_SIZE):
                    height, width = gray.shape
                    raise RejectedInput(
                        422,
                        "not_mnist_sized",
                        f"{upload.name}: expected a 28x28 MNIST image, got {width}x{height} "
                        "pixels (leave out raw to preprocess any image)",
                    )
                images.append(gray)
                several.append(1)
                small.append(False)
                continue
            start = time.perf_counter()
            # As predict does: the classifier arbitrates between the preprocessing's readings.
            result = self._guard(
                upload, lambda gray=gray: preprocess.preprocess(gray, classify=self.classify)
            )
            times.add("preprocess", start)
            images.append(result.image28)
            several.append(int(getattr(result, "digits_side_by_side", 1)))
            small.append(self.classify_small is not None and upscaled_from_small(result.gray))
        start = time.perf_counter()
        batch = np.stack(images).astype(np.float32)
        # As predict does: a real image's digit is read over views around it,
        # by the model for small sources if it was blown up from one.
        probs = normalise.classify_each(
            [self.classify_small if s else self.classify for s in small], batch, views=not raw
        )
        times.add("inference", start)
        answers = []
        for upload, p, image28, count, was_small in zip(
            uploads, probs, images, several, small, strict=True
        ):
            # The same answer predict --json prints (flags for several digits, for
            # a shape no digit has and for a small source's model included).
            answer = FileAnswer(
                upload.name,
                Prediction.from_probabilities(np.asarray(p)),
                digits_side_by_side=count,
                not_a_digit=preprocess.not_a_digit(image28),
                small_source=was_small,
            ).to_dict(self.min_confidence)
            if include_input:
                answer["input_png"] = png_base64(image28)
            answers.append(answer)
        return answers, times

    def read(self, upload: Upload, *, include_input: bool = False) -> tuple[dict, StageTimes]:
        """Read a whole number written on one line.

        Returns:
            ``{"file": name, **ReadResult.to_dict()}`` plus the image's
            ``width`` and ``height`` (boxes are in its pixels) and, when asked,
            ``inputs_png``: each digit's 28x28 model input, and the time spent
            per stage (``read`` covers segmentation and inference).

        Raises:
            RejectedInput: The image cannot be used or holds no digit.
        """
        times = StageTimes()
        gray = self._decode(upload, times)
        start = time.perf_counter()
        result = self._guard(upload, lambda: reading.read_number(gray, self.classify, self.verify))
        times.add("read", start)
        answer = {
            "file": upload.name,
            **result.to_dict(self.min_confidence),
            "width": int(gray.shape[1]),
            "height": int(gray.shape[0]),
        }
        if include_input:
            answer["inputs_png"] = [png_base64(image) for image in result.images]
        return answer, times


def load_service(
    model: str | None = None,
    *,
    verifier: str | None = None,
    use_verifier: bool = True,
    runtime: str = "onnx",
    min_confidence: float = 0.6,
    cache_dir: str | None = None,
    log_line: Callable[[str], None] | None = None,
    runs_dir: str | None = None,
) -> DigitService:
    """Load the models for the service.

    Args:
        model: An exported ``.onnx`` classifier, or anything
            :func:`mnist_cnn.inference.predictor.resolve_model_path` accepts (a ``.keras``
            model is exported to ONNX once, into ``cache_dir``, under the onnx runtime).
        verifier: The segment verifier (``.onnx`` or ``.keras``; default the packaged one).
        use_verifier: Read numbers with the verifier.
        runtime: ``"onnx"`` (no TensorFlow in this process) or ``"keras"``.
        min_confidence: Answers below it are marked ``uncertain``.
        cache_dir: Where exported models are cached.
        log_line: Called with progress lines.
        runs_dir: Where to find ``latest`` when ``model`` is ``None``.

    Raises:
        ModelError: A model cannot be found, exported or loaded.
    """
    from ..errors import ModelError
    from ..inference.predictor import packaged_low_res_model, resolve_model_path

    if runtime not in ("onnx", "keras"):
        raise ModelError(f"unknown runtime {runtime!r}; choose onnx or keras")
    info: dict = {"runtime": runtime}
    classify_small = None  # the packaged model for small sources, with the packaged default
    is_onnx = model is not None and str(model).endswith(".onnx")
    if runtime == "keras":
        if is_onnx or (verifier is not None and str(verifier).endswith(".onnx")):
            raise ModelError("--runtime keras needs .keras models, not .onnx files")
        from ..inference.predictor import Predictor
        from ..inference.verifier import Verifier

        predictor = Predictor.load(model, runs_dir=runs_dir)
        classify = predictor.predict_proba
        small = predictor.low_res()
        if small is not None:
            classify_small = small.predict_proba
            info["low_res_model"] = str(small.path)
        verify = Verifier.load(verifier) if use_verifier else None
        info["model"] = str(predictor.path)
        info["verifier"] = str(verify.path) if verify is not None else None
    else:
        from ..inference.onnx_runtime import OnnxClassifier, OnnxVerifier, cached_onnx

        keras_file = None if is_onnx else resolve_model_path(model, runs_dir=runs_dir)
        model_path = (
            Path(model)
            if keras_file is None
            else cached_onnx(keras_file, cache_dir=cache_dir, log=log_line)
        )
        classify = OnnxClassifier.load(model_path)
        info["model"] = str(model_path)
        low_res = None if keras_file is None else packaged_low_res_model(keras_file)
        if low_res is not None:
            small_path = cached_onnx(low_res, cache_dir=cache_dir, log=log_line)
            classify_small = OnnxClassifier.load(small_path)
            info["low_res_model"] = str(small_path)
        verify = None
        if use_verifier:
            if verifier is not None and str(verifier).endswith(".onnx"):
                verifier_path = Path(verifier)
            else:
                source = Path(verifier) if verifier is not None else _packaged_verifier()
                if not source.is_file():
                    raise ModelError(f"segment verifier {source} not found")
                verifier_path = cached_onnx(source, cache_dir=cache_dir, log=log_line)
            verify = OnnxVerifier.load(verifier_path)
        info["verifier"] = str(verify.path) if verify is not None else None
    service = DigitService(
        classify, verify, min_confidence=min_confidence, info=info, classify_small=classify_small
    )
    service.warm()
    return service


def _packaged_verifier() -> Path:
    from ..models.verifier import default_verifier_path  # light: no Keras at import

    return default_verifier_path()
