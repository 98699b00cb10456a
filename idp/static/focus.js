/* Issue 13.6: after an error the focus goes to the error summary (the banner, tabindex=-1),
   else to the first field in error, so that a screen reader reads what went wrong first. */
(function () {
  "use strict";
  var target = document.querySelector("[data-error-summary]") ||
    document.querySelector("main [aria-invalid=true]");
  if (target) { target.focus(); }
}());
