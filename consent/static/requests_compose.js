// The compose page. Choosing another kind of letter writes the letter again at once (the
// "Write this kind of letter" button does the same without a script), after asking when
// that would drop the person's own edits. "Copy the full text" (copy.js) copies the text
// area's text content: it follows what the person types (a text area's value stays theirs).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("letter-form");
  const kind = document.getElementById("kind");
  const choose = document.getElementById("kind-choose");
  const text = document.getElementById("letter-text");
  if (!form || !kind || !choose) return;
  const initial = text ? text.value : "";
  let chosen = kind.value;
  kind.addEventListener("change", () => {
    const edited = text && (text.value !== initial || text.dataset.edited === "true");
    if (edited && !window.confirm(kind.dataset.confirm || "")) {
      kind.value = chosen;
      return;
    }
    chosen = kind.value;
    form.requestSubmit(choose);
  });
  if (text) {
    text.addEventListener("input", () => { text.textContent = text.value; });
  }
});
