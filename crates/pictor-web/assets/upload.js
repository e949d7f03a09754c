// The upload page: files and folders, dropped or chosen, each sent with
// tus-js-client to /api/v1/uploads (chunked and resumable: a dropped
// connection retries from the last byte the server has; after a reload the
// same file resumes from its stored fingerprint). One row per file.
(function () {
  "use strict";
  const root = document.getElementById("uploader");
  if (!root || !window.tus) return;
  const csrf = root.dataset.csrf;
  const album = root.dataset.album || "";
  // 8 MiB chunks (well under the 50 MB that proxies allow), or less if
  // the server's `limits.upload_chunk_bytes` says so.
  const CHUNK = Math.min(Number(root.dataset.chunkBytes) || Infinity, 8 * 1024 * 1024);
  const PARALLEL = 3;
  const IMAGE_EXT = /\.(jpe?g|png|gif|webp|avif|heic|heif|tiff?|bmp|jxl)$/i;
  const table = document.getElementById("uploads");
  const tbody = table.querySelector("tbody");
  const summary = document.getElementById("summary");
  const retry = document.getElementById("retry");
  const rows = [];
  let active = 0;

  function sizeText(bytes) {
    return bytes < 1048576 ? Math.ceil(bytes / 1024) + " KB" : (bytes / 1048576).toFixed(1) + " MB";
  }

  function setState(row, state, text) {
    row.state = state;
    row.stateCell.dataset.state = state;
    row.stateCell.textContent = text;
    update();
  }

  function update() {
    const count = (s) => rows.filter((r) => r.state === s).length;
    const done = count("done"), dup = count("duplicate"), failed = count("failed");
    summary.textContent = rows.length + (rows.length === 1 ? " file: " : " files: ") + done + " uploaded, " +
      dup + " already in your library, " + failed + " failed";
    retry.hidden = failed === 0;
  }

  function addRow(file) {
    const tr = document.createElement("tr");
    const name = file.webkitRelativePath || file.relativePath || file.name;
    tr.innerHTML = "<td class=name></td><td></td><td><progress max=100 value=0></progress></td><td class=state></td>";
    tr.cells[0].textContent = name;
    tr.cells[1].textContent = sizeText(file.size);
    const row = { file, name, tr, progress: tr.querySelector("progress"), stateCell: tr.cells[3], upload: null };
    row.progress.setAttribute("aria-label", "Upload of " + name);
    tbody.appendChild(tr);
    table.hidden = false;
    rows.push(row);
    setState(row, "queued", "Queued");
    return row;
  }

  function problem(err) {
    const res = err && err.originalResponse;
    if (res) {
      try {
        const body = JSON.parse(res.getBody());
        if (body.detail || body.title) return body.detail || body.title;
      } catch (_) { /* not problem+json */ }
      return "the server answered " + res.getStatus();
    }
    return "the connection failed";
  }

  function finished(row, id, duplicate) {
    setState(row, duplicate ? "duplicate" : "done", duplicate ? "Already in your library" : "Uploaded");
    row.progress.value = 100;
    const link = document.createElement("a");
    link.href = "/photos/" + id;
    link.textContent = " Open";
    const live = document.createElement("span");
    live.className = "live";
    live.setAttribute("sse-swap", "status-" + id);
    live.setAttribute("hx-get", "/photos/" + id + "/status");
    live.setAttribute("hx-trigger", "load");
    row.stateCell.append(" ", live, link);
    if (window.htmx) window.htmx.process(live);
  }

  function start(row) {
    active++;
    setState(row, "uploading", "Uploading");
    let imageId = null, duplicateOf = null;
    // `dedupe`: a photo already in the library is not stored twice.
    const metadata = { filename: row.name, filetype: row.file.type || "application/octet-stream", dedupe: "1" };
    if (album) metadata.album = album;
    const upload = row.upload || new tus.Upload(row.file, {
      endpoint: "/api/v1/uploads",
      chunkSize: CHUNK,
      retryDelays: [0, 1000, 2000, 4000, 8000, 15000, 30000, 30000, 60000, 60000],
      headers: { "X-CSRF-Token": csrf },
      metadata,
      removeFingerprintOnSuccess: true,
      // Keep retrying through a dropped connection (tus-js-client alone
      // gives up while the browser says it is offline); not on a refusal.
      onShouldRetry(err) {
        const status = err.originalResponse ? err.originalResponse.getStatus() : 0;
        return status === 0 || status >= 500 || status === 409 || status === 423 || status === 429;
      },
      onProgress(sent, total) {
        row.progress.value = total ? Math.floor((sent * 100) / total) : 100;
      },
      onAfterResponse(_req, res) {
        imageId = res.getHeader("Pictor-Image-Id") || imageId;
        duplicateOf = res.getHeader("Pictor-Duplicate-Of") || duplicateOf;
      },
      onSuccess() {
        active--;
        if (duplicateOf) finished(row, duplicateOf, true);
        else if (imageId) finished(row, imageId, false);
        else setState(row, "failed", "Failed: the server did not say which photo this became");
        next();
      },
      onError(err) {
        active--;
        row.offline = !err.originalResponse;
        setState(row, "failed", "Failed: " + problem(err));
        next();
      },
    });
    row.upload = upload;
    upload.findPreviousUploads().then((previous) => {
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  }

  function next() {
    while (active < PARALLEL) {
      const row = rows.find((r) => r.state === "queued");
      if (!row) return;
      start(row);
    }
  }

  function enqueue(files) {
    for (const file of files) addRow(file);
    next();
  }

  // Folders: a directory reader returns at most 100 entries per call, so
  // read until it returns none.
  function readAll(reader) {
    return new Promise((resolve, reject) => {
      const entries = [];
      const batch = () => reader.readEntries((got) => {
        if (!got.length) return resolve(entries);
        entries.push(...got);
        batch();
      }, reject);
      batch();
    });
  }

  async function walk(entry, files) {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      if (!file.name.startsWith(".") && (file.type.startsWith("image/") || IMAGE_EXT.test(file.name))) {
        file.relativePath = entry.fullPath.replace(/^\//, "");
        files.push(file);
      }
    } else if (entry.isDirectory) {
      for (const child of await readAll(entry.createReader())) await walk(child, files);
    }
  }

  async function dropped(transfer) {
    const items = [...(transfer.items || [])];
    const entries = items.map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
    if (!entries.length) return enqueue(transfer.files);
    const files = [];
    for (const entry of entries) await walk(entry, files);
    enqueue(files);
  }

  const drop = document.getElementById("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    dropped(e.dataTransfer);
  });
  for (const id of ["files", "folder"]) {
    const input = document.getElementById(id);
    input.addEventListener("change", () => {
      const files = [...input.files].filter((f) => id === "files" || IMAGE_EXT.test(f.name) || f.type.startsWith("image/"));
      enqueue(files);
      input.value = "";
    });
  }
  function retryFailed(onlyOffline) {
    for (const row of rows) {
      if (row.state === "failed" && (!onlyOffline || row.offline)) setState(row, "queued", "Queued");
    }
    next();
  }
  retry.addEventListener("click", () => retryFailed(false));
  // Back online after the retries ran out: carry on by itself.
  window.addEventListener("online", () => retryFailed(true));
})();
