/* Keeps the server-rendered countdown live. The server's text is right without this script; here we only
   recount from the three instants the page carries (day start, day end, next year's start), so no time-zone
   rules are needed in the browser. Ticks are not announced (the timer has aria-live="off"), and the pause
   button stops the updates (WCAG 2.2.2). */
(function () {
  "use strict";
  var root = document.querySelector("[data-countdown]");
  if (!root) { return; }
  var startsAt = Date.parse(root.dataset.startsAt);
  var endsAt = Date.parse(root.dataset.endsAt);
  var nextStartsAt = Date.parse(root.dataset.nextStartsAt);
  var running = root.querySelector("[data-countdown-running]");
  var today = root.querySelector("[data-countdown-today]");
  var pause = root.querySelector("[data-countdown-pause]");
  var paused = false;
  var rolled = false;
  var words = { days: ["day", "days"], hours: ["hour", "hours"], minutes: ["minute", "minutes"] };

  function set(unit, value) {
    var number = root.querySelector('[data-unit="' + unit + '"]');
    var word = root.querySelector('[data-unit-word="' + unit + '"]');
    if (number.textContent !== String(value)) { number.textContent = String(value); }
    word.textContent = words[unit][value === 1 ? 0 : 1];
  }

  function rollToNextYear() {
    // The day is over: count down to next year's, whose instant the server already worked out.
    rolled = true;
    startsAt = nextStartsAt;
    endsAt = Infinity;
    root.querySelector("[data-countdown-name]").textContent = "National Mentoring Day " + root.dataset.nextYear;
    var date = root.querySelector("[data-countdown-date]");
    date.textContent = root.dataset.nextDate;
  }

  function update() {
    if (paused) { return; }
    var now = Date.now();
    if (now >= endsAt && !rolled) { rollToNextYear(); }
    var isToday = now >= startsAt && now < endsAt;
    running.hidden = isToday;
    today.hidden = !isToday;
    if (isToday) { return; }
    var minutes = Math.max(0, Math.ceil((startsAt - now) / 60000));
    set("days", Math.floor(minutes / 1440));
    set("hours", Math.floor((minutes % 1440) / 60));
    set("minutes", minutes % 60);
  }

  pause.hidden = false;
  pause.addEventListener("click", function () {
    paused = !paused;
    pause.setAttribute("aria-pressed", paused ? "true" : "false");
    pause.textContent = paused ? "Resume countdown" : "Pause countdown";
    if (!paused) { update(); }
  });
  update();
  window.setInterval(update, 1000);
})();
