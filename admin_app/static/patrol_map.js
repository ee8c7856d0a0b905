/* Patrol maps in the admin panel: grid boundaries, a round's route, check-ins and problems, or
   the grids coloured by coverage. Leaflet without a tile layer: it works offline. */
(function () {
  "use strict";
  var el = document.getElementById("gd-patrol-map");
  if (!el || !window.L) return;
  var data = JSON.parse(el.dataset.map);
  var coverage = el.dataset.coverage === "1";
  var map = L.map(el, { zoomSnap: 0.25, attributionControl: false });
  var bounds = L.latLngBounds([]);
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
  }).addTo(map);
  if (data.grids.features.length) bounds.extend(grids.getBounds());
  if (data.route && data.route.length) {
    var line = L.polyline(data.route, { color: "#0d6efd", weight: 4, opacity: 0.9 }).addTo(map);
    bounds.extend(line.getBounds());
    L.circleMarker(data.route[0], { radius: 6, color: "#fff", weight: 2, fillColor: "#0d6efd", fillOpacity: 1 })
      .bindTooltip("起点").addTo(map);
    L.circleMarker(data.route[data.route.length - 1], { radius: 6, color: "#0d6efd", weight: 3, fillColor: "#fff", fillOpacity: 1 })
      .bindTooltip("终点").addTo(map);
  }
  (data.check_ins || []).forEach(function (c) {
    L.circleMarker([c.lat, c.lon], { radius: 7, color: "#fff", weight: 2, fillColor: "#198754", fillOpacity: 1 })
      .bindTooltip(c.label || "").addTo(map);
    bounds.extend([c.lat, c.lon]);
  });
  (data.problems || []).forEach(function (p) {
    var m = L.circleMarker([p.lat, p.lon], { radius: 8, color: "#fff", weight: 2, fillColor: "#dc3545", fillOpacity: 1 })
      .bindTooltip(p.label).addTo(map);
    if (p.url) m.on("click", function () { window.location = p.url; });
    bounds.extend([p.lat, p.lon]);
  });
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [20, 20] });
  else map.setView([30, 120], 12);
})();
