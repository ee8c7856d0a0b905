/* The resident report form: location (browser or grid map), photo previews and limit,
   and the nearby open cases of the same kind ("是这件事吗？"). Works without it too. */
(function () {
  'use strict';
  var form = document.getElementById('p-report');
  if (!form) { return; }
  var T = window.GD_TEXT || {};
  var lat = document.getElementById('p-lat'), lon = document.getElementById('p-lon');
  var where = document.getElementById('p-where');
  var maxPhotos = parseInt(form.getAttribute('data-max-photos'), 10) || 6;
  var map = null, marker = null;

  function fmt(text, key, value) { return (text || '').replace('%(' + key + ')s', value); }

  function setPlace(la, lo, moveMap) {
    lat.value = la.toFixed(6); lon.value = lo.toFixed(6);
    where.textContent = fmt(T.located, 'where', lat.value + ', ' + lon.value);
    if (map) {
      if (marker) { marker.setLatLng([la, lo]); }
      else { marker = L.circleMarker([la, lo], {radius: 9, color: '#fff', weight: 3, fillColor: '#d93025', fillOpacity: 1}).addTo(map); }
      if (moveMap) { map.setView([la, lo], Math.max(map.getZoom(), 15)); }
    }
    lookNearby();
  }

  // --- the browser's location -------------------------------------------------------------
  document.getElementById('p-locate').addEventListener('click', function () {
    if (!navigator.geolocation) { where.textContent = T.no_location; return; }
    where.textContent = T.locating;
    navigator.geolocation.getCurrentPosition(function (p) {
      setPlace(p.coords.latitude, p.coords.longitude, true);
    }, function () { where.textContent = T.no_location; },
    {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  });

  // --- the offline grid map (grid polygons only, no tiles) ---------------------------------
  // Only the grids of the visible area are asked for, in fixed cells (so a cell's URL repeats
  // and the browser's HTTP cache answers it); each cell's answer is also kept in localStorage,
  // so the map still shows the grids seen before when the network is gone.
  var CELL = 0.05, KEEP_CELLS = 40, STORE_PREFIX = 'gd-grids:';
  var mapBox = document.getElementById('p-map');
  if (window.L && mapBox) {
    var maxBox = parseFloat(form.getAttribute('data-max-box')) || 0.2;
    var extent = null;
    try { extent = JSON.parse(form.getAttribute('data-grids-extent') || 'null'); } catch (e) { extent = null; }
    map = L.map('p-map', {attributionControl: false, zoomSnap: 0.5});
    var gridLayer = L.geoJSON(null, {
      style: {color: '#1f6feb', weight: 1.5, fillColor: '#cfe2ff', fillOpacity: 0.35},
      onEachFeature: function (f, l) { l.bindTooltip(f.properties.name, {sticky: true}); }
    }).addTo(map);
    var drawn = {}, cells = {}, hint = document.getElementById('p-map-hint');
    var fitsAll = extent && extent[2] - extent[0] <= maxBox && extent[3] - extent[1] <= maxBox;
    if (fitsAll) { map.fitBounds([[extent[1], extent[0]], [extent[3], extent[2]]], {padding: [8, 8]}); }
    else if (extent) { map.setView([(extent[1] + extent[3]) / 2, (extent[0] + extent[2]) / 2], 15); }
    else { map.setView([30.54, 114.33], 14); }

    var draw = function (data) {
      (data.features || []).forEach(function (f) {
        if (!drawn[f.properties.id]) { drawn[f.properties.id] = true; gridLayer.addData(f); }
      });
    };
    var remember = function (key, data) {
      try {
        var index = JSON.parse(localStorage.getItem(STORE_PREFIX + 'index') || '[]');
        index = index.filter(function (k) { return k !== key; });
        index.push(key);
        while (index.length > KEEP_CELLS) { localStorage.removeItem(STORE_PREFIX + index.shift()); }
        localStorage.setItem(STORE_PREFIX + key, JSON.stringify(data));
        localStorage.setItem(STORE_PREFIX + 'index', JSON.stringify(index));
      } catch (e) { /* storage full or off: the map still works online */ }
    };
    var remembered = function (key) {
      try { return JSON.parse(localStorage.getItem(STORE_PREFIX + key) || 'null'); } catch (e) { return null; }
    };
    var loadCell = function (x, y) {
      var key = x + ':' + y;
      if (cells[key]) { return; }
      cells[key] = 'loading';
      var bbox = [x * CELL, y * CELL, (x + 1) * CELL, (y + 1) * CELL].map(function (v) { return v.toFixed(2); }).join(',');
      fetch(form.getAttribute('data-grids') + '?bbox=' + bbox, {credentials: 'same-origin'})
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (data) { cells[key] = 'done'; remember(key, data); draw(data); })
        .catch(function () {
          var kept = remembered(key);
          if (kept) { cells[key] = 'done'; draw(kept); } else { delete cells[key]; }
        });
    };
    var loadVisible = function () {
      var b = map.getBounds();
      var tooLarge = b.getEast() - b.getWest() > maxBox || b.getNorth() - b.getSouth() > maxBox;
      if (hint) { hint.hidden = !tooLarge; }
      if (tooLarge) { return; }
      for (var x = Math.floor(b.getWest() / CELL); x * CELL < b.getEast(); x++) {
        for (var y = Math.floor(b.getSouth() / CELL); y * CELL < b.getNorth(); y++) { loadCell(x, y); }
      }
    };
    map.on('moveend', loadVisible);
    window.addEventListener('online', loadVisible);
    loadVisible();
    if (lat.value && lon.value) { setPlace(parseFloat(lat.value), parseFloat(lon.value), true); }
    map.on('click', function (e) { setPlace(e.latlng.lat, e.latlng.lng, false); });
  }

  // --- nearby open cases ---------------------------------------------------------------------
  var nearby = document.getElementById('p-nearby'), list = document.getElementById('p-nearby-list');
  function chosenCategory() {
    var c = form.querySelector('input[name="category_id"]:checked');
    return c ? c.value : '';
  }
  function lookNearby() {
    var category = chosenCategory();
    if (!category || !lat.value || !lon.value) { nearby.hidden = true; return; }
    var url = form.getAttribute('data-nearby') + '?category_id=' + encodeURIComponent(category) +
      '&lat=' + encodeURIComponent(lat.value) + '&lon=' + encodeURIComponent(lon.value);
    fetch(url, {credentials: 'same-origin'}).then(function (r) { return r.json(); }).then(function (data) {
      list.innerHTML = '';
      (data.cases || []).forEach(function (c) {
        var li = document.createElement('li');
        li.className = 'p-case';
        var title = document.createElement('div'); title.className = 'p-case-title'; title.textContent = c.title;
        var meta = document.createElement('div'); meta.className = 'p-small';
        meta.textContent = [c.category, fmt(T.metres, 'n', c.metres), c.status, c.reported_at,
                            fmt(T.reporters, 'n', c.reporters)].join(' · ');
        var button = document.createElement('button');
        button.type = 'submit'; button.name = 'join'; button.value = c.id;
        button.className = 'p-btn p-btn-primary p-join'; button.textContent = T.join;
        button.formNoValidate = true;
        li.appendChild(title); li.appendChild(meta); li.appendChild(button);
        list.appendChild(li);
      });
      nearby.hidden = !(data.cases || []).length;
    }).catch(function () { nearby.hidden = true; });
  }
  form.querySelectorAll('input[name="category_id"]').forEach(function (r) {
    r.addEventListener('change', lookNearby);
  });

  // --- photos: made smaller in the browser (photo_shrink.js), previews and the limit -----------
  var inputs = form.querySelectorAll('.p-photo-input'), thumbs = document.getElementById('p-thumbs');
  var warning = document.getElementById('p-photo-warning'), submit = document.getElementById('p-submit');
  var busy = 0;
  function showPhotos() {
    thumbs.innerHTML = '';
    var count = 0;
    inputs.forEach(function (input) {
      Array.prototype.forEach.call(input.files || [], function (file) {
        count += 1;
        var img = document.createElement('img');
        img.className = 'p-thumb'; img.alt = file.name;
        img.src = URL.createObjectURL(file);
        thumbs.appendChild(img);
      });
    });
    warning.hidden = count <= maxPhotos;
    submit.disabled = busy > 0 || count > maxPhotos;
    submit.textContent = busy > 0 ? T.shrinking : T.send;
  }
  inputs.forEach(function (input) {
    input.addEventListener('change', function () {
      input.gdGps = [];
      if (!window.GDPhotos) { showPhotos(); return; }
      busy += 1; showPhotos();
      GDPhotos.shrinkInput(input).then(function (gps) { input.gdGps = gps; }, function () {})
        .then(function () { busy -= 1; showPhotos(); });
    });
  });
  // Where each photo was taken (read before shrinking dropped its EXIF), in the photos' order.
  form.addEventListener('submit', function () {
    form.querySelectorAll('input[name="photo_gps"]').forEach(function (old) { old.remove(); });
    inputs.forEach(function (input) {
      Array.prototype.forEach.call(input.files || [], function (file, i) {
        var hidden = document.createElement('input');
        hidden.type = 'hidden'; hidden.name = 'photo_gps';
        hidden.value = window.GDPhotos ? GDPhotos.gpsText((input.gdGps || [])[i]) : '';
        form.appendChild(hidden);
      });
    });
  });
})();
