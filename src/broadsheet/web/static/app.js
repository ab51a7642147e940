// Upvotes without a page reload. Without JavaScript the same forms post and the server
// redirects back; with it, the form is sent with fetch() and every count of that paper updates.
"use strict";

function voteForms(arxivId) {
  return [...document.querySelectorAll("form.vote")].filter(
    (f) => f.querySelector(".count")?.dataset.paper === arxivId,
  );
}

function showVote(form, voted, upvotes) {
  const button = form.querySelector("button");
  form.querySelector("input[name=on]").value = voted ? "0" : "1";
  button.setAttribute("aria-pressed", voted ? "true" : "false");
  button.title = voted ? "Withdraw your upvote" : "Upvote";
  form.querySelector(".count").textContent = String(upvotes);
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.classList.contains("save")) return save(event, form);
  if (!(form instanceof HTMLFormElement) || !form.classList.contains("vote")) return;
  event.preventDefault();
  const button = form.querySelector("button");
  if (button.disabled) return;
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
      return;
    }
    const data = await response.json();
    if (!response.ok) {
      button.title = data.error || "Could not vote";
      form.classList.add("failed");
      return;
    }
    form.classList.remove("failed");
    for (const f of voteForms(data.arxiv_id)) showVote(f, data.voted, data.upvotes);
  } catch (err) {
    form.submit(); // the network or the script failed: fall back to a plain form post
  } finally {
    button.disabled = false;
  }
});

// Save to the library in place: every save button of that paper and collection toggles.
async function save(event, form) {
  event.preventDefault();
  const button = form.querySelector("button");
  if (button.disabled) return;
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
      return;
    }
    const data = await response.json();
    if (!response.ok) {
      button.title = data.error || "Could not save";
      form.classList.add("failed");
      return;
    }
    form.classList.remove("failed");
    for (const f of document.querySelectorAll("form.save")) {
      if (f.action !== form.action || f.querySelector("input[name=collection]").value !== form.querySelector("input[name=collection]").value) continue;
      const b = f.querySelector("button");
      f.querySelector("input[name=on]").value = data.saved ? "0" : "1";
      b.setAttribute("aria-pressed", data.saved ? "true" : "false");
      b.textContent = data.saved ? b.dataset.on : b.dataset.off;
    }
  } catch (err) {
    form.submit(); // the network or the script failed: fall back to a plain form post
  } finally {
    button.disabled = false;
  }
}

// "Not interested" on For you: sent with fetch(), the card leaves the page. Without JavaScript
// the form posts and the page comes back with an undo link.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.classList.contains("dismiss")) return;
  event.preventDefault();
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error(String(response.status));
    const card = form.closest("article.entry");
    const note = document.createElement("p");
    note.className = "muted dismissed";
    note.setAttribute("role", "status");
    note.textContent = "Not interested: " + (card.querySelector(".title a")?.textContent || "paper") + ". Papers like it now rank lower.";
    card.replaceWith(note);
  } catch (err) {
    form.submit(); // fall back to the plain form post
  }
});
