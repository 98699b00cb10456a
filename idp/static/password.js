/* Seed 000: the checklist ticks as the person types, and the indicative security level.
   The same rules and score as idp.passwords (check_new_password, strength); the server
   enforces every rule itself, this is only a guide. Rules needing what the page does not
   hold (the NIR, the birth date, the current password) are left to the server. */
(function () {
  "use strict";
  var input = document.getElementById("new_password");
  var confirmation = document.getElementById("confirmation");
  var list = document.getElementById("password-rules");
  if (!input || !list) { return; }
  var SPECIALS = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  var MIN = 6, MAX = 50;
  function isSpecial(ch) { return SPECIALS.indexOf(ch) !== -1; }
  function allowed(ch) { return /[A-Za-z0-9]/.test(ch) || isSpecial(ch); }
  function some(p, test) { for (var i = 0; i < p.length; i++) { if (test(p[i])) { return true; } } return false; }
  function every(p, test) { for (var i = 0; i < p.length; i++) { if (!test(p[i])) { return false; } } return true; }
  var checks = {
    length: function (p) { return p.length >= MIN && p.length <= MAX; },
    "case": function (p) { return /[a-z]/.test(p) && /[A-Z]/.test(p); },
    digit_or_special: function (p) { return some(p, function (ch) { return /[0-9]/.test(ch) || isSpecial(ch); }); },
    allowed: function (p) { return p.length > 0 && every(p, allowed); },
    confirmation: function (p) { return !!confirmation && p.length > 0 && confirmation.value === p; }
  };
  function strength(p) {
    var score = 0;
    if (/[a-z]/.test(p)) { score++; }
    if (/[A-Z]/.test(p)) { score++; }
    if (/[0-9]/.test(p)) { score++; }
    if (some(p, isSpecial)) { score++; }
    if (p.length >= 10) { score++; }
    if (p.length >= 14) { score++; }
    return score <= 2 ? "low" : score <= 4 ? "medium" : "high";
  }
  // The words come from the page (data-low, data-medium, data-high), in its language.
  var level = document.querySelector("[data-strength]");
  function update() {
    var p = input.value;
    var items = list.querySelectorAll("li[data-rule]");
    for (var i = 0; i < items.length; i++) {
      var check = checks[items[i].getAttribute("data-rule")];
      if (!check) { continue; }
      var ok = check(p);
      items[i].classList.toggle("ok", ok);
      items[i].querySelector(".tick").textContent = ok ? "✓" : "✗";
      // Issue 13.6: the state in words, read out by screen readers (list: aria-live polite).
      var state = items[i].querySelector(".rule-state");
      var said = list.getAttribute(ok ? "data-met" : "data-unmet");
      if (state && state.textContent !== said) { state.textContent = said; }
    }
    if (level) { level.textContent = level.getAttribute("data-" + strength(p)); }
  }
  input.addEventListener("input", update);
  if (confirmation) { confirmation.addEventListener("input", update); }
  update();
}());
