/* GridDesk field app: service worker, offline banner, action forms through the queue, the map,
 * the queue page. Loaded by every /m/ page after queue.js. */
(function () {
  "use strict";
  var script = document.getElementById("m-app-js");
  var Q = window.GDQueue;
  var zh = (document.documentElement.lang || "").indexOf("zh") === 0;
  var T = zh ? {
    queued: "已保存到离线队列，联网后自动发送。", sending: "正在发送…", sent: "已发送。",
    refused: "未被接受：", login: "登录已过期，请重新登录后再发送。", waiting: "待发送 ",
    refusedShort: "被拒 ", photoCount: "张照片", pointCount: " 个轨迹点",
    cardQueued: "有步骤待发送，下方为发送前的状态"
  } : {
    queued: "Saved in the offline queue; it is sent when you are back online.", sending: "Sending…",
    sent: "Sent.", refused: "Not accepted: ", login: "Your session expired: log in again to send.",
    waiting: "queued ", refusedShort: "refused ", photoCount: " photo(s)", pointCount: " route point(s)",
    cardQueued: "A step waits on this phone; the state below is before it"
  };

  if ("serviceWorker" in navigator && script) {
    navigator.serviceWorker.register(script.dataset.sw, { scope: "/m/" }).catch(function () {});
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.type === "queue-drained") { refreshBadge(); renderQueue(); }
    });
  }

  var banner = document.getElementById("m-net");
  function showNet() { if (banner) { banner.hidden = navigator.onLine; } }
  window.addEventListener("offline", showNet);
  window.addEventListener("online", function () { showNet(); sync(); });
  showNet();

  function refreshBadge() {
    if (!Q) { return Promise.resolve(); }
    return Q.all().then(function (items) {
      var waiting = items.filter(function (i) { return i.state === "pending"; }).length;
      var refused = items.filter(function (i) { return i.state === "refused"; }).length;
      var badge = document.getElementById("m-queue-badge");
      if (badge) {
        badge.hidden = !(waiting || refused);
        badge.textContent = (waiting ? T.waiting + waiting : "") + (waiting && refused ? " · " : "") + (refused ? T.refusedShort + refused : "");
        badge.className = "m-queue-badge" + (refused ? " m-queue-badge-bad" : "");
      }
      var count = document.getElementById("m-queue-count");
      if (count) { count.textContent = waiting + refused ? String(waiting + refused) : ""; }
      showQueuedSteps(items);
    }).catch(function () {});
  }

  /* A ticket page names the steps of this ticket still waiting on the phone: the page shows
   * the state before them until they are sent. */
  function showQueuedSteps(items) {
    var waitingOn = {};
    items.forEach(function (i) { if (i.state === "pending" && i.ticketUrl) { waitingOn[i.ticketUrl] = true; } });
    document.querySelectorAll("a.m-ticket").forEach(function (card) {  /* the inbox's cards */
      var mark = card.querySelector(".m-card-queued");
      if (waitingOn[new URL(card.href).pathname] && !mark) {
        mark = document.createElement("span"); mark.className = "m-card-queued"; mark.textContent = T.cardQueued;
        card.insertBefore(mark, card.firstChild);
      } else if (!waitingOn[new URL(card.href).pathname] && mark) { mark.remove(); }
    });
    var box = document.getElementById("m-ticket-queued");
    if (!box) { return; }
    var steps = items.filter(function (i) { return i.state === "pending" && i.ticketUrl === box.dataset.ticketUrl; });
    box.hidden = !steps.length;
    box.textContent = box.dataset.text + (zh ? "" : " ") + steps.map(function (i) {
      var label = i.label || "", cut = label.lastIndexOf(" · ");
      var at = when(i.queuedAt).slice(11);
      return (cut >= 0 ? label.slice(cut + 3) : label) + (zh ? "（" + at + "）" : " (" + at + ")");
    }).join(zh ? "、" : ", ");
  }

  function sync() {
    if (!Q || !navigator.onLine) { return Promise.resolve(null); }
    return Q.drain().then(function (summary) {
      refreshBadge(); renderQueue();
      if (summary.needsLogin) { flash(T.login, "warning"); }
      return summary;
    }).catch(function () { return null; });
  }

  function when(ms) {  /* 2026-12-07 20:09, the phone's own clock, as the pages write times */
    var d = new Date(ms), two = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " +
      two(d.getHours()) + ":" + two(d.getMinutes());
  }

  function flash(text, kind) {
    var main = document.querySelector(".m-main");
    if (!main) { return; }
    var box = document.createElement("div");
    box.className = "m-flash m-flash-" + (kind || "info");
    box.textContent = text;
    main.insertBefore(box, main.firstChild);
  }

  /* Action forms: every step goes through the queue, online or not. */
  document.querySelectorAll("form.m-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!Q) { form.submit(); return; }
      var msg = form.querySelector(".m-form-msg"), button = form.querySelector("button[type=submit]");
      var fields = [], files = [];
      new FormData(form).forEach(function (value, name) {
        if (value instanceof File) { if (value.name) { files.push({ field: name, name: value.name, type: value.type, blob: value }); } }
        else { fields.push([name, value]); }
      });
      var ticketUrl = form.dataset.ticketUrl;
      var item = { url: form.action, label: form.dataset.queueLabel, ticketUrl: ticketUrl,
                   ticketId: ticketUrl, fields: fields, files: files };
      button.disabled = true;
      smaller(files).then(function (shrunk) {
        item.files = shrunk.files;
        shrunk.places.forEach(function (place) { fields.push(["photo_gps", place]); });
        return Q.enqueue(item);
      }).then(function (queued) {
        msg.hidden = false; msg.className = "m-form-msg"; msg.textContent = navigator.onLine ? T.sending : T.queued;
        refreshBadge();
        if (!navigator.onLine && "serviceWorker" in navigator) {
          navigator.serviceWorker.ready.then(function (reg) { if (reg.sync) { return reg.sync.register("gd-queue"); } }).catch(function () {});
        }
        return sync().then(function () { return Q.all(); }).then(function (items) {
          var mine = items.filter(function (i) { return i.key === queued.key; })[0];
          if (mine && mine.state === "done") {
            msg.textContent = T.sent;
            window.location.href = (mine.result && mine.result.url) || ticketUrl;
          } else if (mine && mine.state === "refused") {
            msg.className = "m-form-msg m-form-msg-bad"; msg.textContent = T.refused + mine.error;
            button.disabled = false;
            // Refused at once, the reason under the form: the worker corrects it there, so it
            // does not also wait in the queue's refused list (and its badge).
            Q.remove(mine.key).then(refreshBadge);
          } else {
            msg.className = "m-form-msg m-form-msg-queued"; msg.textContent = T.queued;
          }
        });
      }).catch(function (error) { msg.hidden = false; msg.textContent = String(error); button.disabled = false; });
    });
  });

  /* Photos go into the queue made smaller (photo_shrink.js), with the place each was taken. */
  function smaller(files) {
    if (!window.GDPhotos) { return Promise.resolve({ files: files, places: [] }); }
    return Promise.all(files.map(function (f) { return GDPhotos.shrink(f.blob); })).then(function (results) {
      return {
        files: results.map(function (r, i) {
          return { field: files[i].field, name: r.file.name, type: r.file.type, blob: r.file };
        }),
        places: results.map(function (r) { return GDPhotos.gpsText(r.gps); })
      };
    });
  }

  /* The place on the map: drawn without tiles (works offline): the grid's outline and the point. */
  var mapBox = document.getElementById("m-map");
  if (mapBox && window.L) {
    var lat = parseFloat(mapBox.dataset.lat), lon = parseFloat(mapBox.dataset.lon);
    var map = L.map(mapBox, { attributionControl: false, zoomControl: true, dragging: true });
    var point = L.circleMarker([lat, lon], { radius: 9, color: "#fff", weight: 3, fillColor: "#cf222e", fillOpacity: 1 }).addTo(map);
    var boundary = null;
    try { boundary = JSON.parse(mapBox.dataset.boundary || "null"); } catch (e) { boundary = null; }
    if (boundary) {
      var layer = L.geoJSON(boundary, { style: { color: "#1f6feb", weight: 2, fillColor: "#cfe2ff", fillOpacity: 0.5 } }).addTo(map);
      if (mapBox.dataset.label) { layer.bindTooltip(mapBox.dataset.label, { permanent: true, direction: "center", className: "m-map-label" }); }
      map.fitBounds(layer.getBounds().extend(point.getLatLng()), { padding: [16, 16] });
    } else {
      map.setView([lat, lon], 16);
    }
  }

  /* The inbox: keep its tickets in the offline cache (the service worker stores what it fetches). */
  if (navigator.onLine && document.querySelector(".m-seg") && navigator.serviceWorker && navigator.serviceWorker.controller) {
    Array.prototype.slice.call(document.querySelectorAll("a.m-ticket"), 0, 20).forEach(function (a) {
      fetch(a.href, { credentials: "same-origin" }).catch(function () {});
    });
    document.querySelectorAll("a.m-seg-item").forEach(function (a) { fetch(a.href, { credentials: "same-origin" }).catch(function () {}); });
  }

  /* The queue page. */
  function renderQueue() {
    var pendingList = document.getElementById("m-queue-pending");
    if (!pendingList || !Q) { return; }
    var texts = document.getElementById("m-queue-texts").dataset;
    Q.all().then(function (items) {
      fill(pendingList, items.filter(function (i) { return i.state === "pending"; }), false);
      fill(document.getElementById("m-queue-refused"), items.filter(function (i) { return i.state === "refused"; }), true);
      fill(document.getElementById("m-queue-done"), items.filter(function (i) { return i.state === "done"; }).reverse(), false);
    });
    function fill(list, items, dismiss) {
      list.innerHTML = "";
      if (!items.length) { var none = document.createElement("li"); none.className = "m-muted"; none.textContent = texts.empty; list.appendChild(none); return; }
      items.forEach(function (item) {
        var li = document.createElement("li"); li.className = "m-qitem m-qitem-" + item.state; li.dataset.key = item.key;
        var link = document.createElement("a"); link.href = item.ticketUrl || "#"; link.textContent = item.label || item.url;
        var meta = document.createElement("div"); meta.className = "m-muted m-small";
        meta.textContent = texts.queuedAt + " " + when(item.queuedAt) + ((item.files || []).length ? " · " + item.files.length + T.photoCount : "") +
          (item.json && item.json.points ? " · " + item.json.points.length + T.pointCount : "");
        li.appendChild(link); li.appendChild(meta);
        if (item.state === "refused") {
          var why = document.createElement("div"); why.className = "m-qerror"; why.textContent = (item.status ? item.status + " · " : "") + item.error; li.appendChild(why);
        }
        if (dismiss) {
          var b = document.createElement("button"); b.type = "button"; b.className = "m-btn m-btn-small"; b.textContent = texts.dismiss;
          b.addEventListener("click", function () { Q.remove(item.key).then(function () { renderQueue(); refreshBadge(); }); });
          li.appendChild(b);
        }
        list.appendChild(li);
      });
    }
  }
  /* Signing out forgets the cached pages (a shared phone shows the next person nothing of them);
   * steps not yet sent stay queued. */
  document.querySelectorAll("form[data-logout]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.caches) { return; }
      event.preventDefault();
      caches.delete("gd-m-pages-v1").then(function () { form.submit(); }, function () { form.submit(); });
    });
  });

  var syncButton = document.getElementById("m-sync-now");
  if (syncButton) { syncButton.addEventListener("click", function () { sync(); }); }

  if (Q) { Q.prune().then(refreshBadge).then(renderQueue).then(sync); }
  window.GDApp = { sync: sync, renderQueue: renderQueue, refreshBadge: refreshBadge };
})();
