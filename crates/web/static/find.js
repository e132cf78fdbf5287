// 「現在地を使う」 on the residents' search form: asks the browser for its position and searches
// near it. Only an enhancement: without JavaScript (or when the resident declines) a place can
// be typed instead. The position goes to this site only, as the lat/lon of the search link.
(function () {
  "use strict";
  var box = document.querySelector("[data-here]");
  if (!box || !navigator.geolocation) {
    return;
  }
  var form = box.closest("form");
  var status = box.querySelector("[data-here-status]");
  var button = document.createElement("button");
  button.type = "button";
  button.className = "button button-secondary";
  button.textContent = box.getAttribute("data-here-label");
  box.insertBefore(button, status);
  function field(name, value) {
    var input = form.querySelector("input[name=" + name + "]");
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    input.value = value;
  }
  button.addEventListener("click", function () {
    button.disabled = true;
    status.textContent = box.getAttribute("data-here-waiting");
    navigator.geolocation.getCurrentPosition(
      function (position) {
        field("lat", position.coords.latitude.toFixed(5));
        field("lon", position.coords.longitude.toFixed(5));
        var place = form.querySelector("input[name=place]");
        if (place) {
          place.value = "";
        }
        form.submit();
      },
      function () {
        button.disabled = false;
        status.textContent = box.getAttribute("data-here-failed");
      },
      { enableHighAccuracy: false, timeout: 15000, maximumAge: 300000 }
    );
  });
})();
