// The gallery's keyboard and selection: arrow keys move between photos
// (up and down by rows, as laid out), and shift-click on a photo's box
// selects every photo between it and the last one clicked, across months.
// As older batches load while scrolling, the newest are let go before
// each is added, so the page never holds more than MAX_TILES (300)
// images; a "Newer photos" link at the top brings them back.
(function () {
  "use strict";
  const picks = () => [...document.querySelectorAll("input.pick")];
  let last = null;

  function announce() {
    const count = document.querySelector("#selection .count");
    if (!count) return;
    const n = picks().filter((p) => p.checked).length;
    count.textContent = n ? n + (n === 1 ? " photo selected" : " photos selected") : count.dataset.idle || count.textContent;
  }

  document.addEventListener("click", (e) => {
    const box = e.target.closest && e.target.closest("input.pick");
    if (!box) return;
    const all = picks();
    if (e.shiftKey && last && last !== box && all.includes(last)) {
      const [a, b] = [all.indexOf(last), all.indexOf(box)].sort((x, y) => x - y);
      for (const p of all.slice(a, b + 1)) p.checked = box.checked;
    }
    last = box;
    announce();
  });

  // Arrow keys among the tiles' links, by position on screen.
  document.addEventListener("keydown", (e) => {
    if (!["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(e.key)) return;
    const here = document.activeElement && document.activeElement.closest(".tile");
    if (!here || e.altKey || e.ctrlKey || e.metaKey) return;
    const tiles = [...document.querySelectorAll(".tile")];
    const i = tiles.indexOf(here);
    let target = null;
    if (e.key === "ArrowLeft") target = tiles[i - 1];
    else if (e.key === "ArrowRight") target = tiles[i + 1];
    else {
      const box = here.getBoundingClientRect();
      const down = e.key === "ArrowDown";
      const row = (t) => t.getBoundingClientRect();
      const candidates = (down ? tiles.slice(i + 1) : tiles.slice(0, i).reverse())
        .filter((t) => (down ? row(t).top > box.top + 1 : row(t).top < box.top - 1));
      if (candidates.length) {
        const nextTop = row(candidates[0]).top;
        const line = candidates.filter((t) => Math.abs(row(t).top - nextTop) < 1);
        target = line.reduce((best, t) =>
          Math.abs(row(t).left - box.left) < Math.abs(row(best).left - box.left) ? t : best);
      }
    }
    if (target) {
      e.preventDefault();
      target.querySelector("a").focus();
      target.scrollIntoView({ block: "nearest" });
    }
  });

  // Before a batch is added, the newest are let go so that the page holds
  // at most MAX_TILES images with it (the gallery's batches are 100).
  const MAX_TILES = 300;
  function letGo(photos, limit) {
    let gone = false;
    while (photos.querySelectorAll(".tile").length > limit) {
      const section = photos.querySelector("section.month");
      if (!section || section.contains(document.activeElement)) break;
      section.remove(); // above the screen: scroll anchoring keeps the view still
      gone = true;
    }
    if (gone && !document.getElementById("newer")) photos.prepend(newerLink());
  }

  function newerLink() {
    const newer = document.createElement("p");
    newer.id = "newer";
    newer.className = "more";
    const link = document.createElement("a");
    const url = new URL(location.href);
    for (const key of ["before", "continues", "fragment"]) url.searchParams.delete(key);
    link.href = url.pathname + url.search;
    link.textContent = "Newer photos";
    newer.append(link);
    return newer;
  }

  document.addEventListener("htmx:beforeSwap", (e) => {
    const photos = document.getElementById("photos");
    if (!photos || !photos.contains(e.detail.target) || typeof e.detail.serverResponse !== "string") return;
    const incoming = (e.detail.serverResponse.match(/class="tile"/g) || []).length;
    letGo(photos, MAX_TILES - incoming);
  });
  document.addEventListener("htmx:afterSwap", () => {
    const photos = document.getElementById("photos");
    if (photos) letGo(photos, MAX_TILES);
  });

  document.addEventListener("DOMContentLoaded", () => {
    const count = document.querySelector("#selection .count");
    if (count) count.dataset.idle = count.textContent;
  });
})();
