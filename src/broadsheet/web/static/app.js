// Upvote, save and "Not interested" without a page reload. Without JavaScript the same forms post
// and the server redirects back; with it, the form is sent with fetch() and the page updates.
"use strict";

// Post a form as JSON: the answer's data, or null when it failed (the button says why). A
// visitor who is not logged in goes to the log-in page; if the network or the script fails, the
// form is posted the plain way.
async function send(form, failed) {
  const button = form.querySelector("button");
  if (button.disabled) return null;
  button.disabled = true;
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (response.status === 401) {
      window.location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
      return null;
    }
    const data = await response.json();
    if (!response.ok) {
      button.title = data.error || failed;
      form.classList.add("failed");
      return null;
    }
    form.classList.remove("failed");
    return data;
  } catch (err) {
    form.submit();
    return null;
  } finally {
    button.disabled = false;
  }
}

// Every count of that paper updates.
function showVote(data) {
  for (const form of document.querySelectorAll("form.vote")) {
    if (form.querySelector(".count")?.dataset.paper !== data.arxiv_id) continue;
    const button = form.querySelector("button");
    form.querySelector("input[name=on]").value = data.voted ? "0" : "1";
    button.setAttribute("aria-pressed", data.voted ? "true" : "false");
    button.title = data.voted ? "Withdraw your upvote" : "Upvote";
    form.querySelector(".count").textContent = String(data.upvotes);
  }
}

// Every save button of that paper and collection toggles.
function showSaved(sent, data) {
  const collection = (f) => f.querySelector("input[name=collection]").value;
  for (const form of document.querySelectorAll("form.save")) {
    if (form.action !== sent.action || collection(form) !== collection(sent)) continue;
    const button = form.querySelector("button");
    form.querySelector("input[name=on]").value = data.saved ? "0" : "1";
    button.setAttribute("aria-pressed", data.saved ? "true" : "false");
    button.textContent = data.saved ? button.dataset.on : button.dataset.off;
  }
}

// "Not interested" on For you: the card leaves the page (without JavaScript the page comes back
// with an undo link).
function showDismissed(form) {
  const card = form.closest("article.entry");
  const note = document.createElement("p");
  note.className = "muted dismissed";
  note.setAttribute("role", "status");
  note.textContent = "Not interested: " + (card.querySelector(".title a")?.textContent || "paper") + ". Papers like it now rank lower.";
  card.replaceWith(note);
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  const kind = ["vote", "save", "dismiss"].find((k) => form.classList.contains(k));
  if (!kind) return;
  event.preventDefault();
  const data = await send(form, { vote: "Could not vote", save: "Could not save", dismiss: "Could not dismiss" }[kind]);
  if (!data) return;
  if (kind === "vote") showVote(data);
  else if (kind === "save") showSaved(form, data);
  else showDismissed(form);
});
