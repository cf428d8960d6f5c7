"""Training: the tutorial's ``fit``, reproducible, fast on CPUs, saved as a run.

:func:`train` is what ``mnist-cnn train`` calls. It loads and prepares MNIST
as the tutorial does, holds out the last ``validation_split`` of the training
images (as Keras's ``validation_split`` does), trains with Keras's ``fit``,
evaluates on the test set, and writes a run directory with the model, the
config, history, metrics, the evaluation (``evaluation.json``), plots and the
report page (``report.html``).

Speed. On CPUs with native bfloat16 dot products (AVX512-BF16 or AMX), the
default ``precision="auto"`` trains under Keras's ``mixed_bfloat16`` policy:
convolutions and matrix products run in bfloat16 with float32 weights. Under
TensorFlow, 25 training steps run per call into the compiled function. Both
together train about 2x faster than the tutorial's float32 ``fit`` at the
same accuracy (``benchmarks/bench_train.py``; ``benchmarks/explore_train.py``
shows what each change gives). Under TensorFlow the images travel to ``fit``
as uint8 through a lean tf.data pipeline (:func:`uint8_datasets`) and are
scaled inside the compiled step. The saved model is always a float32 copy
with exactly the tutorial's layers.

Recipes (``TrainConfig.from_recipe``) choose the model and schedule: the
``onecycle`` schedule and Adam's betas serve ``--recipe fast``. Every epoch
ends with a checkpoint in the run's staging folder
(:mod:`~mnist_cnn.training.checkpoint`), from which ``train(resume=...)`` goes on.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from .. import envinfo, runs
from ..config import TrainConfig
from ..data import catalog, datasets
from ..errors import ConfigError, DataError
from ..evaluation import plots
from ..fileio import atomic_path, write_json
from ..models import registry
from . import checkpoint

ArrayPair = tuple[np.ndarray, np.ndarray]
HISTORY_CSV = "history.csv"


def resolve_precision(precision: str) -> str:
    """Turn ``"auto"`` into ``"mixed_bfloat16"`` or ``"float32"`` for this machine."""
    if precision != "auto":
        return precision
    if keras.backend.backend() == "tensorflow" and envinfo.cpu_supports_bf16():
        return "mixed_bfloat16"
    return "float32"


@contextlib.contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Build layers under Keras dtype policy ``name``, restoring the old one after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


class EpochTimer(keras.callbacks.Callback):
    """Records wall-clock seconds per epoch (training and validation pass)."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__()
        self.clock = clock
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = self.clock()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(self.clock() - self._start)


class HistoryCSV(keras.callbacks.CSVLogger):
    """``keras.callbacks.CSVLogger`` with epochs numbered from 1, as Keras's progress
    bar numbers them: ``epoch`` then one column per metric, a row written (and
    flushed) as each epoch ends, so a run that crashes keeps its history so far.
    """

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_end(epoch + 1, logs)


def write_history_csv(history: dict[str, list[float]], path: str | Path) -> None:
    """Write a finished ``history`` as :class:`HistoryCSV` would have during training."""
    logger = HistoryCSV(str(path))
    logger.on_train_begin()
    for epoch in range(len(next(iter(history.values()), []))):
        logger.on_epoch_end(epoch, {key: values[epoch] for key, values in history.items()})
    logger.on_train_end()


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        model: The trained float32 Keras model (the one saved as ``model.keras``).
        history: Per-epoch lists: ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``.
        metrics: The content of ``metrics.json``.
        config: The resolved config (:func:`resolve_config`), as saved in ``config.json``.
        run_dir: The run directory, or ``None`` when ``save=False``.
        evaluation: The test-set evaluation (:func:`mnist_cnn.evaluation.evaluator.summarize`,
            the content of ``evaluation.json``), or ``None`` without test images.
        test_probabilities: ``(n_test, 10)`` float32 test-set probabilities, or ``None``.
    """

    model: keras.Model
    history: dict[str, list[float]]
    metrics: dict[str, Any]
    config: TrainConfig
    run_dir: Path | None = None
    evaluation: dict[str, Any] | None = None
    test_probabilities: np.ndarray | None = None


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float) -> tuple[ArrayPair, ArrayPair]:
    """Hold out the last ``fraction`` of ``(x, y)``, exactly as Keras's ``validation_split``.

    Returns:
        ``((x_train, y_train), (x_val, y_val))``; the validation part is empty
        when ``fraction`` is 0.
    """
    n_val = int(round(len(x) * fraction))
    n_train = len(x) - n_val
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def resolve_config(config: TrainConfig, *, find_data: bool = True) -> TrainConfig:
    """``config`` with what this machine chose in place of its automatic settings.

    ``precision="auto"`` and ``steps_per_execution=0`` become the values used
    here, and (with ``find_data``) ``data_dir=None`` becomes the folder the
    data was found in (downloading it if needed), so the saved config reruns
    the same training elsewhere.
    """
    changes: dict[str, Any] = {
        "precision": resolve_precision(config.precision),
        "steps_per_execution": resolve_steps_per_execution(config.steps_per_execution),
    }
    if find_data:
        changes["data_dir"] = str(datasets.resolve_dataset_dir(config.dataset, config.data_dir))
    return config.replace(**changes)


def load_data(config: TrainConfig) -> tuple[ArrayPair, ArrayPair]:
    """The config's dataset as uint8 arrays, cut to ``train_limit``/``test_limit``.

    Raises:
        DataError: The data cannot be loaded, or (``idx``) is not 28x28 images
            with labels 0-9, which the models need.
    """
    (x_train, y_train), (x_test, y_test) = datasets.load_dataset(config.dataset, config.data_dir)
    for x, y in ((x_train, y_train), (x_test, y_test)):
        if x.shape[1:] != (28, 28) or (y.size and (y.min() < 0 or y.max() > 9)):
            raise DataError(
                f"{config.data_dir}: the models need 28x28 images with labels 0-9; this "
                f"dataset has {x.shape[1]}x{x.shape[2]} images, labels {y.min()}-{y.max()}"
            )
    if config.train_limit:
        x_train, y_train = x_train[: config.train_limit], y_train[: config.train_limit]
    if config.test_limit:
        x_test, y_test = x_test[: config.test_limit], y_test[: config.test_limit]
    return (x_train, y_train), (x_test, y_test)


def resolve_steps_per_execution(value: int) -> int:
    """Turn ``0`` (auto) into 25 under TensorFlow and 1 under other backends.

    Under TensorFlow, running 25 steps per call into the compiled function cut
    the bfloat16 step time from 43-64 ms (bimodal from run to run) to 38 ms
    (benchmarks/explore_train.py); it made no difference in float32.
    """
    if value:
        return value
    return 25 if keras.backend.backend() == "tensorflow" else 1


def learning_rate_schedule(config: TrainConfig, total_steps: int):
    """``config.schedule``'s learning rate: a float, or a Keras schedule over ``total_steps``."""
    if config.schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(config.learning_rate, total_steps)
    if config.schedule == "onecycle":
        warmup = max(1, int(0.3 * total_steps))
        return keras.optimizers.schedules.CosineDecay(
            config.learning_rate / 25,
            decay_steps=max(1, total_steps - warmup),
            warmup_target=config.learning_rate,
            warmup_steps=warmup,
        )
    return config.learning_rate


class Accuracy(keras.metrics.Metric):
    """The fraction of images whose top class is the label's: Keras's ``"accuracy"``
    for one-hot labels, in four operations a step.

    Keras's own metric reshapes, casts and weights on the way, which took
    about 1.5 ms of the fast recipe's 17 ms float32 step on a 2-core AVX2
    CPU (fits side by side; the README's ``--recipe fast`` section). The
    history keeps its keys: ``accuracy`` and ``val_accuracy``.
    """

    def __init__(self, name: str = "accuracy", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.right = self.add_variable(shape=(), initializer="zeros", name="right")
        self.seen = self.add_variable(shape=(), initializer="zeros", name="seen")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        ops = keras.ops
        hits = ops.cast(ops.argmax(y_true, axis=-1) == ops.argmax(y_pred, axis=-1), "float32")
        self.right.assign_add(ops.sum(hits))
        self.seen.assign_add(ops.cast(ops.shape(hits)[0], "float32"))

    def result(self) -> Any:
        return self.right / keras.ops.maximum(self.seen, 1.0)

    def reset_state(self) -> None:
        self.right.assign(0.0)
        self.seen.assign(0.0)


def build_training_model(
    config: TrainConfig, precision: str, steps_per_epoch: int = 1, *, uint8_input: bool = False
) -> tuple[keras.Model, keras.Model]:
    """Build and compile the registered architecture under ``precision``.

    Returns:
        ``(fit_model, model)``: ``model`` is the registered architecture;
        ``fit_model`` is what ``fit`` trains. With ``uint8_input`` it is
        ``model`` behind a float32 ``Rescaling(1/255)`` taking the raw uint8
        images, so batches travel at a quarter of the size and are scaled
        inside the compiled step (the same weights: ``model``'s); otherwise it
        is ``model`` itself.
    """
    with dtype_policy(precision):
        model = registry.build_model(config.model, compile=False)
    fit_model = model
    if uint8_input:
        inputs = keras.Input(registry.INPUT_SHAPE, dtype="uint8")
        scaled = keras.layers.Rescaling(1.0 / 255, dtype="float32")(inputs)
        fit_model = keras.Model(inputs, model(scaled), name=f"{model.name}_uint8")
    fit_model.compile(
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        optimizer=keras.optimizers.Adam(
            learning_rate=learning_rate_schedule(config, steps_per_epoch * config.epochs),
            beta_1=config.adam_beta_1,
            beta_2=config.adam_beta_2,
        ),
        metrics=[Accuracy()],
        steps_per_execution=resolve_steps_per_execution(config.steps_per_execution),
    )
    return fit_model, model


def uint8_datasets(
    train: ArrayPair, validation: ArrayPair, batch_size: int, *, seed: int
) -> tuple[Any, Any, keras.callbacks.Callback]:
    """tf.data pipelines of uint8 images and one-hot labels, for ``fit``.

    Each epoch gathers the training batches from the arrays, held once in
    memory, in an order drawn from ``(seed, epoch)`` alone: the returned
    callback tells the pipeline which epoch begins. So a resumed run
    (:mod:`~mnist_cnn.training.checkpoint`) sees the batches the
    uninterrupted one would have. The pipelines run on a private one-thread
    pool with autotuning off: on a 2-core machine tf.data's autotuned threads
    competed with the training step at every epoch start. Validation runs in
    batches of 1,024 (it only predicts).

    Returns:
        ``(train, validation, callback)``; ``validation`` is ``None`` when
        empty; pass ``callback`` to ``fit``.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.autotune.enabled = False
    options.deterministic = True

    def pipeline(indices: Any, x: np.ndarray, y: np.ndarray) -> Any:
        images = tf.constant(x.reshape(-1, *registry.INPUT_SHAPE))
        labels = tf.one_hot(tf.constant(y.astype(np.int32)), registry.NUM_CLASSES)
        gathered = indices.map(lambda i: (tf.gather(images, i), tf.gather(labels, i)))
        return gathered.prefetch(1).with_options(options)

    epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    n = len(train[0])

    def epoch_order(_: Any) -> Any:
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), epoch])
        )
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    # flat_map hides the number of batches from Keras, which then warns that
    # the data ran out at each epoch's end: tell it.
    batches = tf.data.Dataset.range(1).flat_map(epoch_order)
    batches = batches.apply(tf.data.experimental.assert_cardinality(-(-n // batch_size)))
    train_batches = pipeline(batches, *train)
    val = None
    if len(validation[0]):
        val = pipeline(tf.data.Dataset.range(len(validation[0])).batch(1024), *validation)

    class EpochOrder(keras.callbacks.Callback):
        def on_epoch_begin(self, index: int, logs: dict | None = None) -> None:
            epoch.assign(index)

    return train_batches, val, EpochOrder()


def float32_copy(
    trained: keras.Model, name: str, optimizer: keras.optimizers.Optimizer | None = None
) -> keras.Model:
    """A compiled float32 twin of ``trained``, with its weights and optimizer state.

    Under ``mixed_bfloat16`` the weights are float32 already; copying them (and
    Adam's moments, so training can resume) into a model built under the
    float32 policy gives exactly the artifact a float32 run would have saved.

    Args:
        trained: The trained registered architecture.
        name: Its registry name.
        optimizer: The optimizer that trained it, when ``fit`` trained a model
            wrapping ``trained`` (:func:`build_training_model`); by default
            ``trained.optimizer``.
    """
    optimizer = optimizer or trained.optimizer
    if trained.dtype_policy.name == "float32":
        # Compiled as the tutorial compiles, whatever trained it (label
        # smoothing, our Accuracy metric): the saved file loads in plain Keras.
        trained.compile(loss="categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
        return trained
    with dtype_policy("float32"):
        model = registry.build_model(name, compile=False)
    model.set_weights(trained.get_weights())
    model.compile(
        loss="categorical_crossentropy",
        optimizer=keras.optimizers.Adam.from_config(optimizer.get_config()),
        metrics=["accuracy"],
    )
    model.optimizer.build(model.trainable_variables)
    for target, value in zip(model.optimizer.variables, optimizer.variables, strict=True):
        target.assign(value)
    return model


def train(
    config: TrainConfig | None = None,
    *,
    data: tuple[ArrayPair, ArrayPair] | None = None,
    validation_data: ArrayPair | None = None,
    save: bool = True,
    report: bool = True,
    verbose: int | str = "auto",
    log: Callable[[str], None] = print,
    resume: str | Path | None = None,
) -> TrainResult:
    """Train, evaluate and (by default) save a run, as the tutorial does.

    Args:
        config: The run's settings; ``TrainConfig()`` is the tutorial's.
        data: ``((x_train, y_train), (x_test, y_test))`` uint8 images
            ``(N, 28, 28)`` and integer labels, instead of loading MNIST. An
            empty test set skips the test evaluation (its metrics are ``None``).
        validation_data: An explicit ``(x_val, y_val)`` (uint8 images, integer
            labels), the tutorial's ``validation_data=`` alternative; then all
            of the training data is trained on and ``validation_split`` is ignored.
        save: Write a run directory under ``config.out_dir``.
        report: With ``save``, also write the run's ``report.html``
            (:func:`mnist_cnn.evaluation.report.write_report`) once the run is saved. A
            report that fails is logged, not raised: the run stays, and
            ``mnist-cnn report`` can write the page later.
        verbose: Keras's progress-bar setting (``"auto"``, 0, 1, 2).
        log: Where the tutorial's shape printouts and summaries go.
        resume: The staging folder of an interrupted run (or the run it would
            have become): continue from its last checkpoint, with its config
            (``config``, if given, must be the same) and the same ``data``
            (:mod:`mnist_cnn.training.checkpoint`).

    Returns:
        A :class:`TrainResult`.
    """
    if resume is not None:
        if not save:
            raise ConfigError("resume continues a saved run; it cannot be used with save=False")
        config = checkpoint.resume_config(resume, config)
    config = resolve_config(config or TrainConfig(), find_data=data is None)
    keras.utils.set_random_seed(config.seed)
    precision = config.precision

    data_source = (
        {
            "split": "test",
            "limit": config.test_limit,
            "dataset": config.dataset,
            "data_dir": config.data_dir,
        }
        if data is None
        else {"split": "test", "source": "arrays"}
    )
    (x_train_raw, y_train_raw), (x_test_raw, y_test_raw) = data or load_data(config)
    log(f"Train Data : X={x_train_raw.shape} Y={y_train_raw.shape}")
    log(f"Test Data  : X={x_test_raw.shape} y={y_test_raw.shape}")
    x_test, y_test = datasets.prepare_images(x_test_raw), datasets.prepare_labels(y_test_raw)
    log(f"trainX : {(*x_train_raw.shape, 1)}  trainY : {(len(y_train_raw), 10)}")
    log(f"testX  : {x_test.shape}  testY  : {y_test.shape}")
    # Only the sample grid needs the first raw images again.
    first_images, first_labels = x_train_raw[:9].copy(), y_train_raw[:9].copy()

    if validation_data is not None:
        fit_raw, val_raw = (x_train_raw, y_train_raw), validation_data
    else:
        fit_raw, val_raw = split_validation(x_train_raw, y_train_raw, config.validation_split)
    del x_test_raw, y_test_raw, data
    if config.uci_writers:
        from .real_writers import uci_training_images

        x_uci, y_uci = uci_training_images()
        log(f"Adding {len(x_uci)} UCI training-set digits (30 writers) to the images fitted on")
        fit_raw = (
            np.concatenate([fit_raw[0], x_uci]),
            np.concatenate([fit_raw[1], y_uci.astype(fit_raw[1].dtype)]),
        )
    n_fit, n_val = len(fit_raw[0]), len(val_raw[0])
    has_val = n_val > 0
    log(
        f"Train on {n_fit} samples, validate on {n_val} samples "
        f"(model {config.model}, {precision}, backend {keras.backend.backend()})"
    )

    steps_per_epoch = -(-n_fit // config.batch_size)
    # Under TensorFlow, the images go to fit as uint8 through a lean tf.data
    # pipeline (uint8_datasets); the augmented batches and other backends take
    # float32 arrays, scaled as the tutorial scales them.
    uint8_input = keras.backend.backend() == "tensorflow" and not config.augment
    fit_model, trained = build_training_model(
        config, precision, steps_per_epoch, uint8_input=uint8_input
    )
    validation: Any = None
    fit_args: dict[str, Any] = {}
    if not uint8_input:
        x_fit, y_fit = datasets.prepare_images(fit_raw[0]), datasets.prepare_labels(fit_raw[1])
        if has_val:
            validation = (
                datasets.prepare_images(val_raw[0]),
                datasets.prepare_labels(val_raw[1]),
            )
        if config.augment:
            from .augment import AugmentedBatches

            fit_args["x"] = AugmentedBatches(
                x_fit,
                y_fit,
                config.batch_size,
                config.seed,
                real_inputs=config.real_inputs,
                flagged_ones=config.flagged_ones,
            )
        else:
            fit_args = {"x": x_fit, "y": y_fit, "batch_size": config.batch_size, "shuffle": True}
    timer = EpochTimer()
    callbacks: list[keras.callbacks.Callback] = [timer]
    staging, history_logger, saver = None, None, None
    if save:
        # The run is assembled here from the start: history.csv grows epoch by
        # epoch, and stays (in this hidden folder) if training is interrupted,
        # with a checkpoint of the last finished epoch to resume from.
        saver = checkpoint.Checkpoint.begin(
            config,
            fit_model,
            timer,
            data=fit_args.get("x"),
            arrays=(*fit_raw, *val_raw),
            resume=resume,
        )
        staging = saver.staging
        if saver.initial_epoch:
            log(f"Resuming {staging} after epoch {saver.initial_epoch} of {config.epochs}")
            write_history_csv(saver.history, staging / HISTORY_CSV)
        history_logger = HistoryCSV(str(staging / HISTORY_CSV), append=saver.initial_epoch > 0)
        callbacks += [history_logger, saver]
    initial_epoch = saver.initial_epoch if saver else 0
    if uint8_input:
        fit_args["x"], validation, epoch_order = uint8_datasets(
            fit_raw, val_raw, config.batch_size, seed=config.seed
        )
        fit_args["shuffle"] = False  # It shuffles, epoch by epoch.
        callbacks.insert(0, epoch_order)
    del fit_raw, val_raw, x_train_raw, y_train_raw
    start = time.perf_counter()
    try:
        fit_history = fit_model.fit(
            **fit_args,
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            validation_data=validation,
            verbose=verbose,
            callbacks=callbacks,
        )
    except BaseException as exc:
        if history_logger is not None:
            history_logger.on_train_end()  # Closes the file; fit did not get to.
            log(saver.stopped_message(exc, staging / HISTORY_CSV))
        raise
    train_seconds = time.perf_counter() - start
    history = {k: [float(v) for v in values] for k, values in fit_history.history.items()}
    if saver is not None:  # A resumed run: with the earlier sessions' epochs.
        history, train_seconds = saver.whole_run(history, train_seconds)

    model = float32_copy(trained, config.model, fit_model.optimizer)
    # One forward pass over the test set gives loss, accuracy and the whole
    # evaluation (evaluation.json), so the numbers agree everywhere.
    evaluation, test_probabilities = None, None
    test_loss = test_accuracy = None
    if len(x_test):
        from ..evaluation.evaluator import summarize
        from ..inference.predictor import Predictor

        test_probabilities = Predictor(model).predict_proba(x_test)
        evaluation = {**summarize(test_probabilities, y_test.argmax(axis=1)), "data": data_source}
        test_loss, test_accuracy = evaluation["test_loss"], evaluation["test_accuracy"]
        log(f"Test loss: {test_loss:.4f}")
        log(f"Test accuracy: {test_accuracy:.4f}")

    metrics: dict[str, Any] = {
        "test_loss": test_loss,
        "test_accuracy": test_accuracy,
        "val_loss": history["val_loss"][-1] if has_val else None,
        "val_accuracy": history["val_accuracy"][-1] if has_val else None,
        "epochs": config.epochs,
        "seconds_per_epoch": [round(s, 3) for s in timer.seconds],
        "train_seconds": round(train_seconds, 3),
        "train_images_per_second": round(n_fit * config.epochs / train_seconds, 1),
        "n_train": n_fit,
        "n_validation": n_val,
        "n_test": int(len(x_test)),
        "seed": config.seed,
        "precision": precision,
        "steps_per_execution": config.steps_per_execution,
        "backend": keras.backend.backend(),
        "versions": envinfo.package_versions(),
        "cpu": envinfo.cpu_info(),
        "peak_rss_mb": envinfo.peak_rss_mb(),
    }
    result = TrainResult(
        model=model,
        history=history,
        metrics=metrics,
        config=config,
        evaluation=evaluation,
        test_probabilities=test_probabilities,
    )
    if save:
        try:
            result.run_dir = save_run(result, first_images, first_labels, staging=staging)
        except BaseException as exc:
            message = saver.stopped_message(exc, staging / HISTORY_CSV)
            if message:
                log(message)
            raise
        log(f"Saved run to {result.run_dir}")
        if report:
            gallery = None
            if evaluation is not None:
                gallery = x_test[[item["index"] for item in evaluation["top_losses"]]]
            write_run_report(result.run_dir, gallery, log)
    return result


def write_run_report(
    run_dir: Path, gallery_images: np.ndarray | None, log: Callable[[str], None] = print
) -> Path | None:
    """Write ``report.html`` into a saved run; log (not raise) a failure.

    The run is complete without its page, which ``mnist-cnn report`` can
    write later, so a problem here must not cost the trained model.

    Returns:
        The page, or ``None`` if it could not be written.
    """
    from ..evaluation.report import write_report

    try:
        return write_report(run_dir, gallery_images=gallery_images)
    except Exception as exc:
        log(
            f"report.html not written ({type(exc).__name__}: {exc}); "
            f"retry with: mnist-cnn report {run_dir}"
        )
        return None


def save_run(
    result: TrainResult,
    x_train: np.ndarray,
    y_train: np.ndarray,
    *,
    staging: Path | None = None,
) -> Path:
    """Write a complete run directory and point ``latest`` at it.

    Everything is written into a staging folder first, so an interrupted run
    leaves no partial directory behind.

    Args:
        result: What :func:`train` produced.
        x_train: The first training images, for ``samples.png``.
        y_train: Their labels.
        staging: The staging folder :func:`train` made (holding ``history.csv``
            written during training); by default a new one.
    """
    config = result.config
    if staging is None:
        staging = runs.staging_dir(config.out_dir, runs.new_run_name(config.model))
    name = runs.staged_name(staging)
    try:
        with atomic_path(staging / runs.MODEL_FILE) as tmp:
            result.model.save(tmp)
        recorded = {"mnist_cnn_version": envinfo.package_versions()["mnist-cnn"]}
        write_json(staging / "config.json", {**config.to_dict(), **recorded})
        write_json(staging / "history.json", result.history)
        if not (staging / HISTORY_CSV).is_file():
            write_history_csv(result.history, staging / HISTORY_CSV)
        write_json(staging / "metrics.json", result.metrics)
        if result.history.get("loss"):
            plots.save_learning_curves(result.history, staging / "learning_curves.png")
        plots.save_samples(
            x_train[:9],
            y_train[:9],
            staging / "samples.png",
            class_names=catalog.class_names(config.dataset),
        )
        if result.evaluation is not None:
            write_json(staging / "evaluation.json", result.evaluation)
        # model.keras holds the optimizer state too: the checkpoint is not published.
        (staging / checkpoint.CHECKPOINT_FILE).unlink(missing_ok=True)
        return runs.publish(staging, name)
    except BaseException:
        # With a checkpoint, the staging folder stays: resuming saves the run.
        if not (staging / checkpoint.CHECKPOINT_FILE).is_file():
            shutil.rmtree(staging, ignore_errors=True)
        raise
