/* GridDesk statistics map: grids shaded by count, ticket markers and a heat layer (Leaflet).
   Works without any tile server: the grid polygons are drawn on a plain background. */
(function () {
  "use strict";

  var SHADES = ["#f1f5f9", "#fde68a", "#fdba74", "#fb923c", "#f97316", "#dc2626", "#991b1b"];

  function shade(count, max) {
    if (!count) { return SHADES[0]; }
    var step = Math.ceil((count / Math.max(max, 1)) * (SHADES.length - 1));
    return SHADES[Math.min(Math.max(step, 1), SHADES.length - 1)];
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function legend(map, max, labels) {
    var control = L.control({position: "bottomright"});
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "gd-map-legend");
      var html = "<strong>" + escapeHtml(labels.legend) + "</strong><br>";
      var steps = SHADES.length - 1;
      html += '<i style="background:' + SHADES[0] + '"></i> 0<br>';
      for (var i = 1; i <= steps; i++) {
        var low = Math.floor((i - 1) * max / steps) + 1;
        var high = Math.floor(i * max / steps);
        if (high < low) { continue; }
        html += '<i style="background:' + SHADES[i] + '"></i> ' + low + (high > low ? "–" + high : "") + "<br>";
      }
      div.innerHTML = html;
      return div;
    };
    control.addTo(map);
  }

  function init() {
    var el = document.getElementById("gd-map");
    if (!el) { return; }
    var cfg = JSON.parse(document.getElementById("gd-map-config").textContent);
    var map = L.map(el, {zoomSnap: 0.25, preferCanvas: true, attributionControl: !!cfg.tile_url});
    if (cfg.tile_url) {
      var options = {maxZoom: cfg.max_zoom || 18, attribution: cfg.attribution || ""};
      if (cfg.subdomains) { options.subdomains = cfg.subdomains; }
      L.tileLayer(cfg.tile_url, options).addTo(map);
    } else {
      el.classList.add("gd-map-plain");
    }
    fetch(cfg.data_url, {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.json();
    }).then(function (data) {
      var max = data.max || 0;
      var grids = L.geoJSON(data, {
        style: function (f) {
          return {color: "#1e3a8a", weight: 1.2, fillOpacity: 0.75, fillColor: shade(f.properties.count, max)};
        },
        onEachFeature: function (f, layer) {
          var p = f.properties;
          layer.bindTooltip(escapeHtml(p.name) + "：" + p.count, {sticky: true});
          layer.bindPopup("<strong>" + escapeHtml(p.name) + "</strong><br>" + escapeHtml(cfg.labels.count) + "：" +
                          p.count + '<br><a href="' + escapeHtml(p.url) + '">' + escapeHtml(cfg.labels.open_list) + "</a>");
        }
      }).addTo(map);
      var names = L.layerGroup();
      data.features.forEach(function (f) {
        var c = f.properties.center;
        if (c) {
          names.addLayer(L.marker([c[1], c[0]], {interactive: false, icon: L.divIcon({
            className: "gd-map-label", html: "<span>" + escapeHtml(f.properties.short_name || f.properties.name) + "</span>", iconSize: [0, 0]})}));
        }
      });
      names.addTo(map);
      var markers = L.layerGroup();
      (data.markers || []).forEach(function (m) {
        markers.addLayer(L.circleMarker([m[0], m[1]], {radius: 4, weight: 1, color: "#fff", fillColor: "#1d4ed8", fillOpacity: 0.9})
          .bindPopup('<a href="' + escapeHtml(m[3]) + '">' + escapeHtml(m[2]) + "</a><br>" + escapeHtml(m[4])));
      });
      var heat = L.heatLayer((data.heat || []).map(function (h) { return [h[0], h[1], 1]; }),
                             {radius: 20, blur: 16, maxZoom: 15, minOpacity: 0.25,
                              // one point alone does not saturate: the hottest tenth of the grids does
                              max: Math.max(1, (data.heat || []).length / Math.max(1, data.features.length) / 3)});
      var overlays = {};
      overlays[cfg.labels.grids] = grids;
      overlays[cfg.labels.names] = names;
      overlays[cfg.labels.markers] = markers;
      overlays[cfg.labels.heat] = heat;
      if (cfg.show_markers) { markers.addTo(map); }
      if (cfg.show_heat) { heat.addTo(map); }
      L.control.layers(null, overlays, {collapsed: false}).addTo(map);
      legend(map, max, cfg.labels);
      if (grids.getLayers().length) {
        map.fitBounds(grids.getBounds(), {padding: [12, 12]});
      } else {
        map.setView([30.25, 120.15], 12);
      }
      var note = document.getElementById("gd-map-note");
      if (note && data.markers_total > (data.markers || []).length) {
        note.textContent = cfg.labels.sampled.replace("%(shown)s", data.markers.length).replace("%(total)s", data.markers_total);
      }
      el.setAttribute("data-loaded", "1");
    }).catch(function () {
      var note = document.getElementById("gd-map-note");
      if (note) { note.textContent = cfg.labels.failed; note.classList.add("text-danger"); }
    });
  }

  document.addEventListener("DOMContentLoaded", init);
})();
