/* National Mentoring Day: the few lines of script the shared layout needs. No cookies are ever set here. */
(function () {
  "use strict";
  var KEY = "nmd:cookie-notice-hidden";
  var store = null;
  try {
    store = window.localStorage;
  } catch (error) {
    store = null; /* storage blocked: the notice simply stays, and can still be folded away */
  }
  /* Runs in <head>, before the notice is drawn, so a hidden notice never flashes. */
  if (store && store.getItem(KEY) === "1") {
    document.documentElement.classList.add("cookie-notice-hidden");
  }

  document.addEventListener("DOMContentLoaded", function () {
    var notice = document.querySelector("[data-cookie-notice]");
    var button = notice && notice.querySelector("[data-dismiss-cookie-notice]");
    if (button && store) {
      button.hidden = false;
      button.addEventListener("click", function () {
        try {
          store.setItem(KEY, "1");
        } catch (error) { /* private mode: hide for this page only */ }
        notice.hidden = true;
        var main = document.getElementById("main");
        if (main) { main.focus(); }
      });
    }
    /* After a failed submit, take keyboard and screen-reader users straight to the list of problems. */
    var summary = document.querySelector("[data-error-summary]");
    if (summary) { summary.focus(); }
  });
})();
