"""Export: ONNX and SavedModel files agree with the Keras model (max |diff| <= 1e-5 on
1,000 MNIST test images), carry stable names and metadata, and load in plain
onnxruntime without any of this project's code."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("tf2onnx")

from mnist_cnn import cli, models  # noqa: E402
from mnist_cnn.errors import ExportError, ModelError  # noqa: E402
from mnist_cnn.inference import export  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

# Each export converts a model through tf2onnx and checks it against Keras
# (seconds per model, like a short training): these run in `make test`. The
# quick tier still exports both packaged models, through `mnist-cnn export`,
# for the service's tests (tests/test_serve.py).


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The packaged model and the segment verifier, exported to ONNX with the check."""
    out = tmp_path_factory.mktemp("export")
    classifier = export.export("default", out / "default.onnx")
    verifier = export.export("verifier", out / "verifier.onnx")
    return classifier, verifier


def keras_outputs(path: Path, inputs: np.ndarray) -> np.ndarray:
    import keras

    model = keras.saving.load_model(path, compile=False)
    return np.asarray(model.predict(inputs, batch_size=250, verbose=0))


@pytest.mark.slow
def test_export_checks_parity_on_1000_test_images(exported):
    classifier, verifier = exported
    for result, kind in ((classifier, "classifier"), (verifier, "verifier")):
        assert result.kind == kind and result.format == "onnx"
        assert result.parity_images == 1000
        assert result.max_abs_diff is not None and result.max_abs_diff <= 1e-5
        assert result.path.is_file()


@pytest.mark.slow
def test_onnx_loads_in_plain_onnxruntime(exported, mnist_test, tmp_path):
    """A separate interpreter with only numpy and onnxruntime: names, dynamic batch,
    metadata, and the same probabilities as Keras on 1,000 test images."""
    classifier, _ = exported
    x, y = mnist_test
    inputs = (x[:1000].astype(np.float32) / 255.0)[..., None]
    np.save(tmp_path / "inputs.npy", inputs)
    np.save(tmp_path / "expected.npy", keras_outputs(models.default_model_path(), inputs))
    script = textwrap.dedent(
        f"""
        import json, sys
        import numpy as np
        import onnxruntime as ort
        session = ort.InferenceSession(
            {str(classifier.path)!r}, providers=["CPUExecutionProvider"]
        )
        (inp,), (out,) = session.get_inputs(), session.get_outputs()
        x = np.load({str(tmp_path / "inputs.npy")!r})
        expected = np.load({str(tmp_path / "expected.npy")!r})
        got = np.concatenate([session.run(["probabilities"], {{"image": x[i:i + 7]}})[0]
                              for i in range(0, len(x), 7)])
        print(json.dumps({{
            "input": [inp.name, inp.type, [d if isinstance(d, int) else None for d in inp.shape]],
            "output": [out.name, out.type, [d if isinstance(d, int) else None for d in out.shape]],
            "meta": session.get_modelmeta().custom_metadata_map,
            "max_abs_diff": float(np.abs(got - expected).max()),
            "digits": got.argmax(1).tolist(),
            "project_loaded": any(m.startswith("mnist_cnn") for m in sys.modules),
        }}))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, "-I", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["input"] == ["image", "tensor(float)", [None, 28, 28, 1]]
    assert report["output"] == ["probabilities", "tensor(float)", [None, 10]]
    assert report["max_abs_diff"] <= 1e-5
    assert report["project_loaded"] is False
    assert np.mean(np.array(report["digits"]) == y[:1000]) > 0.98
    meta = report["meta"]
    assert json.loads(meta["mnist_cnn.classes"]) == [str(d) for d in range(10)]
    assert "centre of mass" in meta["mnist_cnn.preprocessing"]
    assert meta["mnist_cnn.kind"] == "classifier"
    assert len(meta["mnist_cnn.source_sha256"]) == 64


@pytest.mark.slow
def test_verifier_onnx_matches_the_verifier(exported):
    from mnist_cnn.inference.onnx_runtime import OnnxVerifier
    from mnist_cnn.inference.verifier import Verifier

    _, verifier = exported
    ours = OnnxVerifier.load(verifier.path)
    theirs = Verifier.load()
    assert ours.weights == theirs.weights  # the reader's score weights travel in the metadata
    inputs = export.parity_inputs("verifier", 300)
    assert np.max(np.abs(ours(inputs) - theirs(inputs))) <= 1e-5


@pytest.mark.slow
def test_reading_with_onnx_models_equals_reading_with_keras(exported, verify):
    from mnist_cnn import reading
    from mnist_cnn.inference import Predictor
    from mnist_cnn.inference.onnx_runtime import OnnxClassifier, OnnxVerifier

    classifier, verifier = exported
    year = REPO / "docs" / "examples" / "year.jpg"
    with_onnx = reading.read_number(
        year, OnnxClassifier.load(classifier.path), OnnxVerifier.load(verifier.path)
    )
    with_keras = reading.read_number(year, Predictor.load("default").predict_proba, verify)
    assert with_onnx.text == with_keras.text == "2026"
    assert [d.box for d in with_onnx.digits] == [d.box for d in with_keras.digits]


@pytest.mark.slow
def test_cli_export_prints_the_check(tmp_path, capsys):
    out = tmp_path / "m.onnx"
    code = cli.main(["export", "default", "--out", str(out), "--check-images", "200", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["path"] == str(out) and result["parity_images"] == 200
    assert result["max_abs_diff"] <= 1e-5 and out.is_file()


@pytest.mark.slow
def test_saved_model_export(tmp_path, mnist_test):
    import tensorflow as tf

    result = export.export("default", tmp_path / "sm", format="saved_model", parity_images=200)
    assert result.max_abs_diff <= 1e-5
    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    x = (mnist_test[0][:5].astype(np.float32) / 255.0)[..., None]
    probs = loaded.serve(tf.constant(x))["probabilities"].numpy()
    assert probs.shape == (5, 10)
    assert list(probs.argmax(1)) == [int(v) for v in mnist_test[1][:5]]


@pytest.mark.slow
def test_litert_export(tmp_path, mnist_test):
    """A .tflite file with the same names (signature ``serve``: ``image`` ->
    ``probabilities``), any batch size, checked like the others."""
    result = export.export("default", tmp_path / "m.tflite", format="litert", parity_images=200)
    assert result.format == "litert" and result.max_abs_diff <= 1e-5
    x = (mnist_test[0][:7].astype(np.float32) / 255.0)[..., None]
    probs = export.litert_outputs(result.path, x)
    assert probs.shape == (7, 10)
    assert list(probs.argmax(1)) == [int(v) for v in mnist_test[1][:7]]
    assert list(tmp_path.iterdir()) == [result.path]  # no staging folder left


@pytest.mark.slow
def test_a_failed_check_writes_nothing(tmp_path, monkeypatch):
    from mnist_cnn.inference.predictor import load_keras_file

    source = models.default_model_path()
    model = load_keras_file(source, compile=False)
    real = export._onnx_outputs
    monkeypatch.setattr(export, "_onnx_outputs", lambda path, x: real(path, x) + 1e-3)
    out = tmp_path / "bad.onnx"
    with pytest.raises(ExportError, match="differs from the Keras model"):
        export.export_keras_model(
            model, out, source=source, parity=export.parity_inputs("classifier", 50)
        )
    assert list(tmp_path.iterdir()) == []


def test_export_refuses_other_models(tmp_path):
    import keras

    odd = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten()])
    odd.save(tmp_path / "odd.keras")
    with pytest.raises(ModelError, match="only digit classifiers"):
        export.export(tmp_path / "odd.keras", tmp_path / "odd.onnx")
    with pytest.raises(ExportError, match="unknown export format"):
        export.export("default", tmp_path / "x", format="tflite", parity_images=0)
    assert cli.main(["export", str(tmp_path / "missing.keras"), "--out", "x.onnx"]) == 2
