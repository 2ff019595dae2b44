// Settings → AI providers: the add wizard's model list fills the model box (the typed id is what the
// form sends, so a pick from the live list and a typed id never disagree).
(function () {
  "use strict";

  document.addEventListener("change", (event) => {
    const select = event.target.closest("select[data-fills]");
    if (!select || !select.value) return;
    const box = document.querySelector(select.dataset.fills);
    if (!box) return;
    box.value = select.value;
    box.dispatchEvent(new Event("input", { bubbles: true }));
  });

  // A model typed that is in the list selects it there, so the two agree the other way round too.
  document.addEventListener("input", (event) => {
    if (event.target.id !== "id_model") return;
    const select = document.querySelector("select[data-fills='#id_model']");
    if (!select) return;
    const typed = event.target.value.trim();
    const listed = Array.from(select.options).some((option) => option.value === typed);
    select.value = listed ? typed : "";
  });
})();
