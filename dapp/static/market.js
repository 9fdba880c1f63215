// Market page: the send form takes a member or an address, so choosing one clears the other.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form.send");
  if (!form) return;
  const { member, to } = form.elements;
  member.addEventListener("change", () => { if (member.value) to.value = ""; });
  to.addEventListener("input", () => { if (to.value) member.value = ""; });
});
