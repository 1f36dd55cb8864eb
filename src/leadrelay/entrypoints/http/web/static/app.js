// leadrelay dashboard: times in the browser's own zone and numbers in the page's language.
// Plain JavaScript, no build step; the pages work without it (the server writes the playbook's zone).
(function () {
  "use strict";
  var lang = document.documentElement.lang === "ja" ? "ja-JP" : "en";
  var times = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var when = new Date(el.getAttribute("datetime"));
    if (!isNaN(when)) { el.title = el.textContent; el.textContent = times.format(when); }
  });
  var numbers = new Intl.NumberFormat(lang);
  document.querySelectorAll("[data-number]").forEach(function (el) {
    var value = Number(el.textContent.trim());
    if (el.textContent.trim() !== "" && !isNaN(value)) {
      var digits = (el.textContent.split(".")[1] || "").length;
      el.textContent = new Intl.NumberFormat(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
    }
  });
  void numbers;
})();
