"""The drawing page in a real browser: Debian's chromium driven by Playwright, against
``mnist-cnn serve`` started as a child process on a free loopback port.

Skipped only when chromium is genuinely missing and ``CI`` is not set (``make test``
installs it with apt-get). ``MNIST_CNN_UPDATE_DOCS=1`` also saves the page's
screenshot as docs/serve.png.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("onnxruntime")
playwright_api = pytest.importorskip("playwright.sync_api")

from mnist_cnn import models  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing on CI; make test installs it with apt-get")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``mnist-cnn serve`` on the exported packaged models; yields its base URL."""
    from mnist_cnn.inference.onnx_runtime import cached_onnx

    cache = tmp_path_factory.getbasetemp() / "onnx-cache"
    classifier = cached_onnx(models.default_model_path(), cache_dir=cache)
    verifier = cached_onnx(
        Path(models.default_model_path()).with_name("verifier.keras"), cache_dir=cache
    )
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    started = time.perf_counter()
    with open(log, "w") as log_file:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mnist_cnn",
                "serve",
                str(classifier),
                "--verifier",
                str(verifier),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"mnist-cnn serve exited: {log.read_text()}")
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=1) as response:
                    if json.load(response)["status"] == "ready":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mnist-cnn serve did not get ready in 60 s: {log.read_text()}")
            time.sleep(0.1)
        print(f"serve ready in {time.perf_counter() - started:.2f} s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    """A fresh page at ``/``; fails the test on any console error or page error."""
    context = browser.new_context(viewport={"width": 1000, "height": 640})
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(server + "/")
    yield page
    context.close()
    assert problems == [], problems


def draw(page, strokes, canvas="#pad"):
    """Mouse strokes in canvas pixels (the pad's own coordinate system)."""
    box = page.locator(canvas).bounding_box()
    size = page.evaluate(
        f"[document.querySelector('{canvas}').width, document.querySelector('{canvas}').height]"
    )
    sx, sy = box["width"] / size[0], box["height"] / size[1]
    for points in strokes:
        x, y = points[0]
        page.mouse.move(box["x"] + x * sx, box["y"] + y * sy)
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(box["x"] + x * sx, box["y"] + y * sy, steps=8)
        page.mouse.up()


def answer(page):
    return page.locator("#answer")


def test_draw_a_seven(page):
    expect = playwright_api.expect
    draw(page, [[(70, 60), (210, 60), (120, 235)]])
    expect(answer(page)).to_have_text("7", timeout=15000)
    bars = page.locator("#top3 li")
    expect(bars).to_have_count(3)
    expect(page.locator("#seen img")).to_have_count(1)
    if os.environ.get("MNIST_CNN_UPDATE_DOCS"):
        page.screenshot(path=str(REPO / "docs" / "serve.png"))


def test_a_small_three_in_a_corner(page):
    expect = playwright_api.expect
    three = [
        [(14, 12), (30, 8), (44, 12), (46, 22), (36, 30), (28, 31)],
        [(28, 31), (40, 33), (48, 42), (44, 52), (30, 56), (14, 52)],
    ]
    draw(page, three)
    expect(answer(page)).to_have_text("3", timeout=15000)


def test_clear_removes_the_answer(page):
    expect = playwright_api.expect
    draw(page, [[(140, 40), (140, 240)]])
    expect(answer(page)).not_to_have_text("", timeout=15000)
    page.get_by_role("button", name="Clear").click()
    expect(answer(page)).to_have_text("")
    expect(page.locator("#top3 li")).to_have_count(0)
    # The keyboard does the same: Escape on the focused drawing area.
    draw(page, [[(140, 40), (140, 240)]])
    expect(answer(page)).not_to_have_text("", timeout=15000)
    page.get_by_role("img", name="Drawing area").press("Escape")
    expect(answer(page)).to_have_text("")


def test_upload_a_photo_of_a_number(page):
    expect = playwright_api.expect
    page.get_by_role("radio", name="a number").check()
    page.get_by_label("Upload a photo").set_input_files(str(REPO / "docs/examples/year.jpg"))
    expect(answer(page)).to_have_text("2026", timeout=20000)
    expect(page.locator("#seen img")).to_have_count(4)
    boxes_drawn = page.evaluate(
        """() => {
            const c = document.getElementById('overlay');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
            return n;
        }"""
    )
    assert boxes_drawn > 100


def test_write_a_number(page):
    expect = playwright_api.expect
    page.get_by_role("radio", name="a number").check()
    draw(page, [[(170, 40), (170, 185)], [(300, 45), (420, 45), (340, 190)]])
    expect(answer(page)).to_have_text("17", timeout=15000)
    expect(page.locator("#top3 li")).to_have_count(2)


def test_upload_a_photo_of_a_digit(page):
    expect = playwright_api.expect
    page.get_by_label("Upload a photo").set_input_files(str(REPO / "docs/examples/three.jpg"))
    expect(answer(page)).to_have_text("3", timeout=20000)


def test_controls_have_accessible_names(page):
    for role, name in (
        ("button", "Clear"),
        ("radio", "one digit"),
        ("radio", "a number"),
        ("img", "Drawing area"),
    ):
        assert page.get_by_role(role, name=name).count() == 1, (role, name)
    assert page.get_by_label("Upload a photo").count() == 1
    assert page.locator("[aria-live]").count() >= 1
    # No request leaves the machine: every resource comes from the server itself.
    hosts = page.evaluate(
        "performance.getEntriesByType('resource').map(e => new URL(e.name).host)"
    )
    assert all(host.startswith("127.0.0.1:") for host in hosts), hosts
