// Section pages (Teikyo): the page works without this script; it only hides what does not
// apply while the user types. Conditional items show when their controlling field has one of
// the listed values; an hours day shows its time slots only when 「時間帯を入力」 is chosen.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var form = document.querySelector("form.section-form");
  if (!form) return;

  function valuesOf(name) {
    var out = [];
    var els = form.querySelectorAll("[name='" + CSS.escape(name) + "']");
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) continue;
      out.push(el.value);
    }
    return out;
  }

  function refresh() {
    var conditional = form.querySelectorAll("[data-show-name]");
    for (var i = 0; i < conditional.length; i++) {
      var el = conditional[i];
      var wanted = el.getAttribute("data-show-values").split(" ");
      var have = valuesOf(el.getAttribute("data-show-name"));
      var on = have.some(function (v) { return wanted.indexOf(v) >= 0; });
      el.classList.toggle("is-off", !on);
    }
    var days = form.querySelectorAll("select.day-status");
    for (var j = 0; j < days.length; j++) {
      var day = days[j].closest(".hours-day");
      if (day) day.classList.toggle("is-not-open", days[j].value !== "" && days[j].value !== "open");
    }
  }

  form.addEventListener("change", refresh);
  refresh();
})();
