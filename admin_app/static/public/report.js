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
  if (window.L && document.getElementById('p-map')) {
    map = L.map('p-map', {attributionControl: false, zoomSnap: 0.5}).setView([30.54, 114.33], 14);
    fetch(form.getAttribute('data-grids'), {credentials: 'same-origin'})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var layer = L.geoJSON(data, {
          style: {color: '#1f6feb', weight: 1.5, fillColor: '#cfe2ff', fillOpacity: 0.35},
          onEachFeature: function (f, l) { l.bindTooltip(f.properties.name, {sticky: true}); }
        }).addTo(map);
        if (layer.getLayers().length) { map.fitBounds(layer.getBounds(), {padding: [8, 8]}); }
        if (lat.value && lon.value) { setPlace(parseFloat(lat.value), parseFloat(lon.value), true); }
      }).catch(function () {});
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

  // --- photos: previews and the limit ------------------------------------------------------
  var inputs = form.querySelectorAll('.p-photo-input'), thumbs = document.getElementById('p-thumbs');
  var warning = document.getElementById('p-photo-warning');
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
    document.getElementById('p-submit').disabled = count > maxPhotos;
  }
  inputs.forEach(function (input) { input.addEventListener('change', showPhotos); });
})();
