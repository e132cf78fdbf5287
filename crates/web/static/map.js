// The residents' map (Leaflet from npm): the results page shows its results as markers and
// offers 「この範囲で検索」 (the map view as the search's bbox); a facility page shows where it is.
// Only an enhancement: the list and the addresses work without it. Tiles come from the
// configured server (default 地理院タイル), credited as its licence asks.
(function () {
  "use strict";
  var box = document.querySelector("[data-map]");
  if (!box || !window.L) {
    return;
  }
  var map = L.map(box, { scrollWheelZoom: false });
  var tiles = box.getAttribute("data-tiles");
  if (tiles) {
    var credit = document.createElement("a");
    credit.href = box.getAttribute("data-attribution-url");
    credit.textContent = box.getAttribute("data-attribution");
    L.tileLayer(tiles, { maxZoom: 18, attribution: credit.outerHTML }).addTo(map);
  }
  var points = [];
  function marker(lat, lon, label, href) {
    var m = L.circleMarker([lat, lon], { radius: 8, weight: 2, fillOpacity: 0.6 }).addTo(map);
    if (label) {
      var link = document.createElement("a");
      link.textContent = label;
      if (href) {
        link.href = href;
      }
      m.bindPopup(link);
    }
    points.push([lat, lon]);
  }
  var own = parseFloat(box.getAttribute("data-lat"));
  if (!isNaN(own)) {
    marker(own, parseFloat(box.getAttribute("data-lon")), "", "");
  }
  document.querySelectorAll("li[data-lat]").forEach(function (li) {
    var a = li.querySelector("a");
    marker(
      parseFloat(li.getAttribute("data-lat")),
      parseFloat(li.getAttribute("data-lon")),
      a ? a.textContent : "",
      a ? a.getAttribute("href") : ""
    );
  });
  if (points.length === 1) {
    map.setView(points[0], 16);
  } else if (points.length > 1) {
    map.fitBounds(points, { padding: [24, 24], maxZoom: 16 });
  } else {
    map.setView([36.5, 137.5], 5);
  }
  map.getContainer().setAttribute("data-map-ready", "");
  // A facility's own map, or results without a place: nothing to search again.
  if (!isNaN(own) || points.length === 0) {
    return;
  }
  // 「この範囲で検索」: after the resident moves the map, search what it shows.
  var here = document.createElement("button");
  here.type = "button";
  here.className = "button button-secondary map-search-here";
  here.textContent = box.getAttribute("data-search-here");
  here.hidden = true;
  box.parentNode.insertBefore(here, box.nextSibling);
  map.on("dragend zoomend", function () {
    here.hidden = false;
  });
  here.addEventListener("click", function () {
    var b = map.getBounds();
    var params = new URLSearchParams(window.location.search);
    ["cursor", "place", "lat", "lon", "radius"].forEach(function (k) {
      params.delete(k);
    });
    params.set(
      "bbox",
      [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()]
        .map(function (n) { return n.toFixed(5); })
        .join(",")
    );
    window.location.search = params.toString();
  });
})();
