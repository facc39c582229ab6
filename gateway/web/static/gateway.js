// Live vetting: while a query is typed, ask the gateway what its policy says of it.
// Everything works without this script; it only saves pressing "Check".
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-live-vet]")) {
    const out = document.getElementById(form.dataset.liveVet);
    let timer = 0;
    let latest = 0;
    const check = async () => {
      const mine = ++latest;
      const response = await fetch(form.dataset.vetUrl, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-Fragment": "1" },
        credentials: "same-origin",
      });
      if (mine === latest) out.innerHTML = await response.text();
    };
    form.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(check, 400);
    });
  }
});
