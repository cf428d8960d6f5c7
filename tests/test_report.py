"""The evaluation report: evaluation.json's fields, the page as a view of them, the
report and compare verbs, and the page in a real browser (Debian's chromium)."""

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mnist_cnn import cli
from mnist_cnn.evaluation import compare, evaluator, report

REPO = Path(__file__).resolve().parents[1]
SCREENSHOT = REPO / "docs" / "report.png"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A real run: 500 training images (400 trained on), 1 epoch, 500 test images."""
    from mnist_cnn.config import TrainConfig
    from mnist_cnn.training import train

    out = tmp_path_factory.mktemp("runs")
    config = TrainConfig(train_limit=500, test_limit=500, epochs=1, seed=0, out_dir=str(out))
    return train(config, verbose=0, log=lambda line: None)


@pytest.fixture
def run_copy(tiny_run, tmp_path):
    """A copy of the tiny run that a test may change."""
    target = tmp_path / "runs" / tiny_run.run_dir.name
    shutil.copytree(tiny_run.run_dir, target)
    return target


def _images(html: str) -> list[str]:
    return re.findall(r'<img [^>]*src="([^"]+)"', html)


def _cell_counts(html: str) -> list[int]:
    return [int(v) for v in re.findall(r'class="cm-cell[^"]*"[^>]*data-count="(\d+)"', html)]


# ---------------------------------------------------------------- evaluation.json
def test_summarize_fields_on_a_hand_made_case():
    probs = np.array([[0.9, 0.1, 0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    result = evaluator.summarize(probs, np.array([0, 1, 1, 2]), top_k=5, n_bins=10)
    assert result["test_accuracy"] == 0.75 and result["n_errors"] == 1
    assert result["confusion_matrix"] == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    assert result["most_confused"] == [{"true": 1, "predicted": 0, "count": 1}]
    assert [t["index"] for t in result["top_losses"]] == [2]
    assert result["top_losses"][0]["probability"] == pytest.approx(0.6)
    lower, upper = result["test_accuracy_ci95"]
    assert lower < 0.75 < upper
    assert result["per_class"]["1"]["recall"] == 0.5
    assert result["per_class"]["0"]["precision"] == 0.5
    assert result["calibration"]["n_bins"] == 10
    assert sum(b["count"] for b in result["calibration"]["bins"]) == 4
    json.dumps(result)  # JSON-ready


@pytest.mark.slow
def test_train_writes_evaluation_json_and_report(tiny_run):
    run = tiny_run.run_dir
    result = json.loads((run / "evaluation.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    # One source of truth: metrics.json's test numbers are evaluation.json's.
    assert result["test_accuracy"] == metrics["test_accuracy"]
    assert result["test_loss"] == metrics["test_loss"]
    assert result["n_test"] == 500
    assert sum(map(sum, result["confusion_matrix"])) == 500
    assert 0 < len(result["top_losses"]) <= 48
    assert all(t["true"] != t["predicted"] for t in result["top_losses"])
    losses = [t["loss"] for t in result["top_losses"]]
    assert losses == sorted(losses, reverse=True)
    assert 0.0 <= result["calibration"]["ece"] <= 1.0
    assert len(result["calibration"]["bins"]) == 15
    # The data the top_losses indices refer to: the dataset and the folder actually used.
    assert result["data"] == {
        "split": "test",
        "limit": 500,
        "dataset": "mnist",
        "data_dir": tiny_run.config.data_dir,
    }
    assert Path(result["data"]["data_dir"]).is_dir()
    assert (run / "report.html").is_file()


@pytest.mark.slow
def test_report_is_self_contained(tiny_run):
    from PIL import Image

    html = (tiny_run.run_dir / "report.html").read_text()
    ev = tiny_run.evaluation
    assert "<script" not in html.lower()
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "@import" not in html and "url(" not in html
    images = _images(html)
    # learning curves, reliability diagram, and one thumbnail per top loss
    assert len(images) == 2 + len(ev["top_losses"])
    for src in images:
        assert src.startswith("data:image/png;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        image.load()
        assert image.width > 0 and image.height > 0
    assert sum(_cell_counts(html)) == ev["n_test"] == 500
    for section in ("run", "curves", "metrics", "confusion", "gallery", "calibration"):
        assert f'id="{section}"' in html
    assert 'id="handwriting"' not in html  # the run has no stress results


@pytest.mark.slow
def test_report_shows_the_numbers_of_evaluation_json(run_copy):
    """The page computes nothing: change evaluation.json and the page follows."""
    path = run_copy / "evaluation.json"
    data = json.loads(path.read_text())
    data["test_accuracy"] = 0.123456
    data["calibration"]["ece"] = 0.0987
    path.write_text(json.dumps(data))
    report.write_report(run_copy)
    html = (run_copy / "report.html").read_text()
    assert '<div class="value" id="test-accuracy">12.35 %</div>' in html
    assert "0.0987" in html


@pytest.mark.slow
def test_report_cli_evaluates_a_run_without_evaluation_json(
    run_copy, tmp_path, monkeypatch, capsys
):
    (run_copy / "evaluation.json").unlink()
    (run_copy / "report.html").unlink()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    handwriting = REPO / "benchmarks" / "results" / "handwriting-20261125-132533-baseline.json"
    assert cli.main(["report", str(run_copy), "--handwriting", str(handwriting)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {run_copy / 'report.html'}"
    result = json.loads((run_copy / "evaluation.json").read_text())
    assert result["n_test"] == 500 and "calibration" in result
    assert list(work.iterdir()) == []  # nothing written into the current folder
    html = (run_copy / "report.html").read_text()
    assert 'id="handwriting"' in html and "off_centre" in html
    assert sum(_cell_counts(html)) == 500


@pytest.mark.slow
def test_evaluate_bare_model_writes_nothing_unasked(tiny_run, tmp_path, monkeypatch):
    model = tmp_path / "bare" / "model.keras"
    model.parent.mkdir()
    shutil.copy(tiny_run.run_dir / "model.keras", model)
    monkeypatch.chdir(tmp_path)
    result = evaluator.evaluate(model, limit=100, top_k=5)
    assert result["written_to"] is None
    assert not (tmp_path / "evaluation.json").exists()
    assert not (model.parent / "evaluation.json").exists()
    assert len(result["top_losses"]) <= 5
    out = tmp_path / "elsewhere" / "eval.json"
    result = evaluator.evaluate(model, limit=100, out=out)
    assert result["written_to"] == str(out)
    assert json.loads(out.read_text())["n_test"] == 100


@pytest.mark.slow
def test_evaluate_writes_into_a_run_only_when_asked(run_copy, tmp_path, monkeypatch):
    """The library call has no side effect it was not asked for; the CLI and the
    report ask (``save_to_run=True``, or ``out``)."""
    monkeypatch.chdir(tmp_path)
    saved = run_copy / "evaluation.json"
    before = saved.read_bytes()
    result = evaluator.evaluate(run_copy, limit=100, top_k=5)
    assert result["written_to"] is None and saved.read_bytes() == before
    result = evaluator.evaluate(run_copy, limit=100, top_k=5, save_to_run=True)
    assert result["written_to"] == str(saved)
    assert json.loads(saved.read_text())["n_test"] == 100


def test_plots_leave_matplotlib_global_state_alone(tmp_path):
    """Figures come from matplotlib.figure.Figure: no pyplot, no backend switch."""
    code = (
        "import sys, matplotlib\n"
        # The raw setting: matplotlib.get_backend() would import pyplot to resolve it.
        "backend = dict.__getitem__(matplotlib.rcParams, 'backend')\n"
        "from mnist_cnn.evaluation import plots\n"
        "import numpy as np\n"
        "plots.save_learning_curves({'loss': [1.0, 0.5], 'accuracy': [0.5, 0.9]}, "
        f"{str(tmp_path / 'curves.png')!r})\n"
        "plots.save_samples(np.zeros((9, 28, 28), np.uint8), list(range(9)), "
        f"{str(tmp_path / 'samples.png')!r})\n"
        "assert dict.__getitem__(matplotlib.rcParams, 'backend') == backend\n"
        "print('matplotlib.pyplot' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"
    assert (tmp_path / "curves.png").stat().st_size and (tmp_path / "samples.png").stat().st_size


def test_report_errors_are_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["report", "nowhere"]) == 2
    assert capsys.readouterr().err == "error: no run directory at nowhere\n"
    assert cli.main(["report"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no run given") and err.count("\n") == 1
    (tmp_path / "folder").mkdir()
    assert cli.main(["report", "folder"]) == 2
    assert "is not a run directory" in capsys.readouterr().err
    (tmp_path / "folder" / "config.json").write_text("{}")
    assert cli.main(["report", "folder", "--handwriting", "absent.json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no handwriting results at absent.json") and err.count("\n") == 1


@pytest.mark.slow
def test_train_no_report(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["train", "--train-limit", "300", "--test-limit", "100", "--epochs", "1"]
    assert cli.main([*args, "--verbose", "0", "--no-report"]) == 0
    latest = tmp_path / "runs" / "latest"
    assert (latest / "evaluation.json").is_file()
    assert not (latest / "report.html").exists()
    assert "Report:" not in capsys.readouterr().out


@pytest.mark.slow
def test_a_failing_report_does_not_cost_the_run(tmp_path, monkeypatch, mnist_test):
    from mnist_cnn.config import TrainConfig
    from mnist_cnn.training import train

    def broken(*args, **kwargs):
        raise RuntimeError("template missing")

    monkeypatch.setattr(report, "write_report", broken)
    x, y = mnist_test
    lines = []
    result = train(
        TrainConfig(epochs=1, out_dir=str(tmp_path)),
        data=((x[:256], y[:256]), (x[256:320], y[256:320])),
        verbose=0,
        log=lines.append,
    )
    assert (result.run_dir / "model.keras").is_file()
    assert (result.run_dir / "evaluation.json").is_file()
    assert not (result.run_dir / "report.html").exists()
    assert lines[-1] == (
        "report.html not written (RuntimeError: template missing); "
        f"retry with: mnist-cnn report {result.run_dir}"
    )
    # Trained on arrays: the page says the gallery's images are not available.
    monkeypatch.undo()
    report.write_report(result.run_dir)
    assert "are not available" in (result.run_dir / "report.html").read_text()


# ---------------------------------------------------------------- compare
def _fake_run(root: Path, name: str, seed: int, accuracy: float, epochs: int = 3) -> Path:
    run = root / name
    run.mkdir(parents=True)
    config = {"model": "baseline", "epochs": epochs, "seed": seed, "batch_size": 128}
    (run / "config.json").write_text(json.dumps(config))
    (run / "metrics.json").write_text(
        json.dumps(
            {
                "test_accuracy": accuracy,
                "test_loss": 0.05,
                "val_accuracy": 0.98,
                "seconds_per_epoch": [20.0, 15.0, 16.0],
                "train_seconds": 51.0,
                "peak_rss_mb": 1200.0,
            }
        )
    )
    (run / "evaluation.json").write_text(
        json.dumps(
            {
                "test_accuracy": accuracy,
                "test_accuracy_ci95": [accuracy - 0.002, accuracy + 0.002],
                "calibration": {"ece": 0.004},
                "n_test": 10000,
            }
        )
    )
    return run


def test_compare_lists_differing_config_and_metrics(tmp_path):
    a = _fake_run(tmp_path, "run-a", seed=0, accuracy=0.9872)
    b = _fake_run(tmp_path, "run-b", seed=1, accuracy=0.9889, epochs=5)
    result = compare.compare_runs([a, b])
    assert result["runs"] == ["run-a", "run-b"]
    assert result["config_differences"] == {"epochs": [3, 5], "seed": [0, 1]}
    assert result["same_config"] == {"model": "baseline", "batch_size": 128}
    assert result["metrics"]["test_accuracy"] == [0.9872, 0.9889]
    assert result["metrics"]["median_seconds_per_epoch"] == [16.0, 16.0]
    assert result["metrics"]["ece"] == [0.004, 0.004]
    assert "cv_val_accuracy" not in result["metrics"]  # no run has it
    lines = compare.format_table(result).splitlines()
    assert lines[0].split() == ["run-a", "run-b"]
    assert ["seed", "0", "1"] in [line.split() for line in lines]
    assert ["test_accuracy", "0.9872", "0.9889"] in [line.split() for line in lines]
    assert ["test_accuracy_ci95", "0.9852-0.9892", "0.9869-0.9909"] in [
        line.split() for line in lines
    ]


def test_compare_cli_json_and_html(tmp_path, monkeypatch, capsys):
    a = _fake_run(tmp_path, "run-a", seed=0, accuracy=0.9872)
    b = _fake_run(tmp_path, "run-b", seed=1, accuracy=0.9889)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["compare", str(a), str(b), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == compare.compare_runs([a, b])
    assert cli.main(["compare", str(a), str(b), "--html", "cmp.html"]) == 0
    captured = capsys.readouterr()
    assert "seed" in captured.out and captured.err == "wrote cmp.html\n"
    html = (tmp_path / "cmp.html").read_text()
    assert "<script" not in html and "0.9889" in html and 'class="config-row"' in html
    assert cli.main(["compare", str(a), "missing"]) == 2
    assert capsys.readouterr().err == "error: no run directory at missing\n"


# ---------------------------------------------------------------- a real browser
def _chromium_or_skip() -> str:
    """Debian's chromium and Playwright, or a skip; on CI (CI=true) a failure instead."""
    on_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    executable = shutil.which("chromium")
    problem = None
    if executable is None:
        problem = "chromium is not installed (make test installs it with apt-get)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright is not installed (pip install -e '.[dev]')"
    if problem:
        if on_ci:
            pytest.fail(problem + "; on CI the browser test must run")
        pytest.skip(problem)
    return executable


@pytest.fixture
def chromium() -> str:
    """The chromium executable (checked before the tiny run is trained)."""
    return _chromium_or_skip()


@pytest.mark.slow
def test_report_in_a_real_browser(chromium, tiny_run, tmp_path):
    from playwright.sync_api import sync_playwright

    page_file = tiny_run.run_dir / "report.html"
    n_test = tiny_run.evaluation["n_test"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 1200})
            problems = []
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning")
                    else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            requests = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_file.as_uri(), wait_until="load")

            assert problems == []
            # Only the page itself and its data: images are requested.
            assert [u for u in requests if not u.startswith("data:")] == [page_file.as_uri()]
            images = page.evaluate(
                "Array.from(document.images, i => [i.complete, i.naturalWidth, i.naturalHeight])"
            )
            assert len(images) == 2 + len(tiny_run.evaluation["top_losses"])
            assert all(complete and w > 0 and h > 0 for complete, w, h in images), images
            cells = page.evaluate(
                "Array.from(document.querySelectorAll('#confusion-matrix td.cm-cell'),"
                " c => Number(c.dataset.count))"
            )
            assert len(cells) == 100 and sum(cells) == n_test
            shown = page.evaluate(
                "Array.from(document.querySelectorAll('#confusion-matrix td.cm-cell'),"
                " c => Number(c.textContent))"
            )
            assert shown == cells
            # The README's screenshot is refreshed on request only, so a test
            # run leaves the work tree as it found it.
            shot = SCREENSHOT if os.environ.get("MNIST_CNN_UPDATE_DOCS") else tmp_path / "r.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000

            # On a phone: nothing wider than the screen but the scrolling tables.
            page.set_viewport_size({"width": 390, "height": 844})
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0
            # In print: the page renders to PDF.
            page.emulate_media(media="print")
            assert page.pdf(format="A4")[:5] == b"%PDF-"
            assert problems == []
        finally:
            browser.close()
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
