/* Patrol maps in the admin panel: grid boundaries, a round's route, check-ins and problems, or
   the grids coloured by coverage. Leaflet without a tile layer: it works offline. The view is
   set before any layer is added (vector layers need it). */
(function () {
  "use strict";
  var el = document.getElementById("gd-patrol-map");
  if (!el || !window.L) return;
  var data = JSON.parse(el.dataset.map);
  var coverage = el.dataset.coverage === "1";
  var map = L.map(el, { zoomSnap: 0.25, attributionControl: false });
  var layers = [], bounds = L.latLngBounds([]);
  function dot(latlng, fill, radius, tip) {
    var m = L.circleMarker(latlng, { radius: radius, color: "#fff", weight: 2, fillColor: fill, fillOpacity: 1 });
    if (tip) m.bindTooltip(tip);
    layers.push(m);
    bounds.extend(latlng);
    return m;
  }
  var grids = L.geoJSON(data.grids, {
    style: function (f) {
      if (!coverage) return { color: "#0d6efd", weight: 2, fillColor: "#cfe2ff", fillOpacity: 0.35 };
      var ok = f.properties.covered;
      return { color: ok ? "#146c43" : "#b02a37", weight: 1.5, fillColor: ok ? "#198754" : "#dc3545",
               fillOpacity: ok ? 0.45 : 0.35 };
    },
    onEachFeature: function (f, layer) {
      var label = f.properties.name + (coverage ? "：" + f.properties.rounds : "");
      layer.bindTooltip(label, { permanent: coverage, direction: "center", className: "gd-grid-label" });
    }
  });
  layers.push(grids);
  if (data.grids.features.length) bounds.extend(grids.getBounds());
  if (data.route && data.route.length) {
    var line = L.polyline(data.route, { color: "#0d6efd", weight: 4, opacity: 0.9 });
    layers.push(line);
    bounds.extend(line.getBounds());
    dot(data.route[0], "#0d6efd", 6, "起点");
    dot(data.route[data.route.length - 1], "#6f42c1", 6, "终点");
  }
  (data.check_ins || []).forEach(function (c) { dot([c.lat, c.lon], "#198754", 7, c.label); });
  (data.problems || []).forEach(function (p) {
    var m = dot([p.lat, p.lon], "#dc3545", 8, p.label);
    if (p.url) m.on("click", function () { window.location = p.url; });
  });
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [20, 20] });
  else map.setView([30, 120], 12);
  layers.forEach(function (layer) { layer.addTo(map); });
})();
