// The drawing page: pointer strokes on a canvas, sent (debounced) to /v1/predict
// or /v1/read; no libraries, no build step.
"use strict";

(function () {
  const SIZES = { digit: [280, 280], number: [640, 220] };
  const PEN = { digit: 18, number: 13 };
  const DEBOUNCE_MS = 250;

  const pad = document.getElementById("pad");
  const overlay = document.getElementById("overlay");
  const ctx = pad.getContext("2d");
  const octx = overlay.getContext("2d");
  const answer = document.getElementById("answer");
  const uncertain = document.getElementById("uncertain");
  const status = document.getElementById("status");
  const top3 = document.getElementById("top3");
  const seen = document.getElementById("seen");
  const seenFigure = document.getElementById("seen-figure");
  const upload = document.getElementById("upload");

  let mode = "digit";
  let drawing = false;
  let hasInk = false;
  let last = null;
  let timer = null;
  let sequence = 0; // answers to older requests are ignored
  let photo = null; // {file, x, y, scale} when an uploaded photo is shown

  function resetCanvas() {
    const [w, h] = SIZES[mode];
    pad.width = overlay.width = w;
    pad.height = overlay.height = h;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, w, h);
    octx.clearRect(0, 0, w, h);
    pad.setAttribute(
      "aria-label",
      mode === "digit"
        ? "Drawing area. Draw one digit here; press Escape to clear."
        : "Drawing area. Write a number on one line here; press Escape to clear."
    );
  }

  function clearAnswer(message) {
    answer.textContent = "";
    uncertain.hidden = true;
    top3.replaceChildren();
    seen.replaceChildren();
    seenFigure.hidden = true;
    status.textContent = message || "";
  }

  function clearAll() {
    sequence += 1;
    clearTimeout(timer);
    hasInk = false;
    photo = null;
    upload.value = "";
    resetCanvas();
    clearAnswer("");
  }

  function point(event) {
    const rect = pad.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) * pad.width) / rect.width,
      y: ((event.clientY - rect.top) * pad.height) / rect.height,
    };
  }

  function stroke(from, to) {
    ctx.strokeStyle = "#000";
    ctx.lineWidth = PEN[mode];
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x, to.y);
    ctx.stroke();
  }

  pad.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    if (photo) clearAll(); // drawing replaces an uploaded photo
    pad.setPointerCapture(event.pointerId);
    drawing = true;
    last = point(event);
    stroke(last, last);
    hasInk = true;
  });
  pad.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of events.length ? events : [event]) {
      const p = point(e);
      stroke(last, p);
      last = p;
    }
    schedule();
  });
  function endStroke() {
    if (!drawing) return;
    drawing = false;
    schedule();
  }
  pad.addEventListener("pointerup", endStroke);
  pad.addEventListener("pointercancel", endStroke);
  pad.addEventListener("keydown", (event) => {
    if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      clearAll();
    }
  });
  // Escape clears from anywhere on the page (the Clear button announces it).
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !event.defaultPrevented) clearAll();
  });
  document.getElementById("clear").addEventListener("click", clearAll);

  for (const radio of document.querySelectorAll('input[name="mode"]')) {
    radio.addEventListener("change", () => {
      mode = radio.value;
      clearAll();
    });
  }

  upload.addEventListener("change", () => {
    const file = upload.files && upload.files[0];
    if (!file) return;
    sequence += 1;
    clearTimeout(timer);
    resetCanvas();
    clearAnswer("reading the photo…");
    const url = URL.createObjectURL(file);
    const image = new Image();
    image.onload = () => {
      const scale = Math.min(pad.width / image.width, pad.height / image.height);
      const w = image.width * scale;
      const h = image.height * scale;
      const x = (pad.width - w) / 2;
      const y = (pad.height - h) / 2;
      ctx.drawImage(image, x, y, w, h);
      URL.revokeObjectURL(url);
      photo = { file, x, y, scale };
      hasInk = true;
      send();
    };
    image.onerror = () => {
      URL.revokeObjectURL(url);
      // The browser cannot show it; the server may still read it (or say why not).
      photo = { file, x: 0, y: 0, scale: 0 };
      hasInk = true;
      send();
    };
    image.src = url;
  });

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(send, DEBOUNCE_MS);
  }

  async function send() {
    if (!hasInk) return;
    const mine = ++sequence;
    const endpoint = mode === "digit" ? "/v1/predict" : "/v1/read";
    let request;
    if (photo) {
      const form = new FormData();
      form.append(mode === "digit" ? "files" : "file", photo.file, photo.file.name);
      request = { method: "POST", body: form };
    } else {
      request = {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ image: pad.toDataURL("image/png"), include_input: true }),
      };
    }
    let response, data;
    try {
      response = await fetch(endpoint + "?include_input=true", request);
      data = await response.json();
    } catch (error) {
      if (mine === sequence) clearAnswer("the server did not answer; is mnist-cnn serve running?");
      return;
    }
    if (mine !== sequence) return;
    if (!response.ok) {
      clearAnswer(data.detail || "the server refused the image");
      octx.clearRect(0, 0, overlay.width, overlay.height);
      return;
    }
    if (mode === "digit") showDigit(data.predictions[0]);
    else showNumber(data);
  }

  function pngImage(base64, label) {
    const img = document.createElement("img");
    img.src = "data:image/png;base64," + base64;
    img.alt = label;
    img.width = 28;
    img.height = 28;
    return img;
  }

  function showDigit(p) {
    answer.textContent = String(p.digit);
    uncertain.hidden = !p.uncertain;
    status.textContent = p.not_a_digit
      ? `Not sure this is a digit (${p.not_a_digit}).`
      : p.uncertain
        ? "Not sure: the best guess is below the confidence threshold."
        : "";
    top3.replaceChildren(
      ...p.top3.map((t) => {
        const li = document.createElement("li");
        const pct = Math.round(t.probability * 1000) / 10;
        li.setAttribute("aria-label", `digit ${t.digit}: ${pct} percent`);
        const d = document.createElement("span");
        d.textContent = String(t.digit);
        const bar = document.createElement("span");
        bar.className = "bar";
        const fill = document.createElement("span");
        fill.style.width = `${Math.max(0, Math.min(100, t.probability * 100))}%`;
        bar.append(fill);
        const pp = document.createElement("span");
        pp.className = "p";
        pp.textContent = `${pct.toFixed(1)}%`;
        li.append(d, bar, pp);
        return li;
      })
    );
    seen.replaceChildren();
    if (p.input_png) {
      seen.append(pngImage(p.input_png, `the 28x28 image the model saw for ${p.digit}`));
      seenFigure.hidden = false;
    }
    octx.clearRect(0, 0, overlay.width, overlay.height);
  }

  function showNumber(r) {
    answer.textContent = r.text;
    uncertain.hidden = !r.uncertain;
    status.textContent = r.uncertain ? "Not sure about at least one digit." : "";
    top3.replaceChildren(
      ...r.digits.map((d, i) => {
        const li = document.createElement("li");
        const pct = Math.round(d.probability * 1000) / 10;
        li.setAttribute("aria-label", `digit ${i + 1}: ${d.digit}, ${pct} percent`);
        const label = document.createElement("span");
        label.textContent = String(d.digit);
        const bar = document.createElement("span");
        bar.className = "bar";
        const fill = document.createElement("span");
        fill.style.width = `${d.probability * 100}%`;
        bar.append(fill);
        const pp = document.createElement("span");
        pp.className = "p";
        pp.textContent = `${pct.toFixed(1)}%`;
        li.append(label, bar, pp);
        return li;
      })
    );
    seen.replaceChildren(
      ...(r.inputs_png || []).map((png, i) =>
        pngImage(png, `the 28x28 image the model saw for digit ${i + 1}`)
      )
    );
    seenFigure.hidden = !(r.inputs_png && r.inputs_png.length);
    // Boxes are in the image's pixels: the canvas itself, or the uploaded photo.
    const [sx, sy, ox, oy] = photo
      ? [photo.scale, photo.scale, photo.x, photo.y]
      : [pad.width / r.width, pad.height / r.height, 0, 0];
    octx.clearRect(0, 0, overlay.width, overlay.height);
    octx.lineWidth = 2;
    octx.font = "bold 14px system-ui, sans-serif";
    r.digits.forEach((d) => {
      const [x0, y0, x1, y1] = d.box;
      octx.strokeStyle = d.probability < 0.6 ? "#c2410c" : "#0b5fce";
      octx.strokeRect(ox + x0 * sx, oy + y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy);
      octx.fillStyle = octx.strokeStyle;
      octx.fillText(`${d.digit}`, ox + x0 * sx + 2, Math.max(12, oy + y0 * sy - 3));
    });
  }

  resetCanvas();
})();
