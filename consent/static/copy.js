// "Copy the full text": a button with data-copy="<id>" copies that element's text, for a
// letter too long for a mail link. Without JavaScript, the text stays there to select.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  await navigator.clipboard.writeText(source.textContent);
  button.dataset.copied = "true";
  button.setAttribute("aria-live", "polite");
  button.textContent = button.dataset.done || button.textContent;
});
