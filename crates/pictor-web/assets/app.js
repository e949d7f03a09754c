// The gallery's keyboard and selection: arrow keys move between photos
// (up and down by rows, as laid out), and shift-click on a photo's box
// selects every photo between it and the last one clicked, across months.
// As older batches load while scrolling, the newest are let go once the
// page holds more than MAX_TILES, so it never holds more than a few
// hundred images; a "Newer photos" link at the top brings them back.
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

  const MAX_TILES = 360;
  document.addEventListener("htmx:afterSwap", () => {
    const photos = document.getElementById("photos");
    if (!photos) return;
    let let_go = false;
    while (photos.querySelectorAll(".tile").length > MAX_TILES) {
      const section = photos.querySelector("section.month");
      if (!section || section.contains(document.activeElement)) break;
      section.remove(); // above the screen: scroll anchoring keeps the view still
      let_go = true;
    }
    if (!let_go || document.getElementById("newer")) return;
    const newer = document.createElement("p");
    newer.id = "newer";
    newer.className = "more";
    const link = document.createElement("a");
    const url = new URL(location.href);
    for (const key of ["before", "continues", "fragment"]) url.searchParams.delete(key);
    link.href = url.pathname + url.search;
    link.textContent = "Newer photos";
    newer.append(link);
    photos.prepend(newer);
  });

  document.addEventListener("DOMContentLoaded", () => {
    const count = document.querySelector("#selection .count");
    if (count) count.dataset.idle = count.textContent;
  });
})();
