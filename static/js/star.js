// The star on coin rows and coin pages (watchlists/_star.html, swapped by htmx): its menu of lists is
// placed under the star (fixed, so that a scrolling table does not clip it) and closes on a click
// elsewhere, on Escape, on scroll, or on a second click of the star.
(function () {
  "use strict";

  function place(box) {
    const menu = box.querySelector(".star-menu");
    const star = box.querySelector(".star");
    if (!menu || !star) return;
    const at = star.getBoundingClientRect();
    const left = Math.min(at.left, window.innerWidth - menu.offsetWidth - 8);
    const below = at.bottom + 4;
    const top = below + menu.offsetHeight > window.innerHeight ? Math.max(8, at.top - menu.offsetHeight - 4) : below;
    menu.style.left = Math.max(8, left) + "px";
    menu.style.top = top + "px";
  }

  function close(box) {
    box.classList.remove("open");
    const menu = box.querySelector(".star-menu");
    if (menu) menu.remove();
    const star = box.querySelector(".star[aria-expanded]");
    if (star) star.setAttribute("aria-expanded", "false");
  }

  const openBoxes = () => document.querySelectorAll(".star-box.open");

  document.addEventListener("htmx:afterSwap", () => openBoxes().forEach(place));
  document.addEventListener("htmx:load", (event) => {
    const box = event.detail.elt;
    if (box.classList && box.classList.contains("star-box") && box.classList.contains("open")) {
      place(box);
      const first = box.querySelector(".star-menu button");
      if (first && !box.contains(document.activeElement)) first.focus();
    }
  });

  // A second click on an open star closes its menu instead of asking for it again.
  document.addEventListener("htmx:confirm", (event) => {
    const star = event.target;
    if (star.classList.contains("star") && star.closest(".star-box.open")) {
      event.preventDefault();
      close(star.closest(".star-box"));
    }
  });

  document.addEventListener("click", (event) => {
    openBoxes().forEach((box) => {
      if (!box.contains(event.target)) close(box);
    });
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    openBoxes().forEach((box) => {
      close(box);
      const star = box.querySelector(".star");
      if (star) star.focus();
    });
  });
  // Any scroll but the menu's own moves the star from under its fixed menu.
  document.addEventListener("scroll", (event) => {
    openBoxes().forEach((box) => {
      if (!(event.target instanceof Node) || !box.contains(event.target)) close(box);
    });
  }, { passive: true, capture: true });
})();
