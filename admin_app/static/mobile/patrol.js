/* Patrol route recorder: watchPosition while a page of the round is open. Every point goes to
   IndexedDB at once (queue.js, store "route": it survives reloads, closed tabs and dead
   networks) and is sent in batches through the offline queue, each batch with its own
   Idempotency-Key; the recorder shows how many points still wait. The forms' hidden lon/lat get
   the latest position. */
(function () {
  "use strict";
  var box = document.getElementById("patrol-recorder");
  if (!box) return;
  var roundId = box.dataset.roundId, every = (+box.dataset.sendEvery || 15) * 1000;
  var text = document.getElementById("patrol-gps-text"), routeText = document.getElementById("patrol-route-text");
  var queuedText = document.getElementById("patrol-route-queued");
  var lastT = null;
  function Q() { return window.GDQueue; }  // queue.js loads after this script
  function mine(item) { return String(item.routeOf) === String(roundId); }

  function fillForms(p) {
    document.querySelectorAll('input[name="lon"]').forEach(function (i) { i.value = p.lon; });
    document.querySelectorAll('input[name="lat"]').forEach(function (i) { i.value = p.lat; });
  }
  var last = null;
  try { last = JSON.parse(sessionStorage.getItem("patrol-last") || "null"); } catch (e) { last = null; }
  if (last) fillForms(last);

  function showWaiting() {
    if (!Q() || !queuedText) return Promise.resolve();
    return Q().routeWaiting().then(function (counts) {
      var n = counts[roundId] || 0;
      queuedText.hidden = !n;
      queuedText.textContent = box.dataset.msgQueued.replace("{n}", n);
    }).catch(function () {});
  }

  /* A round ended offline records no more points (they would reach an ended round). */
  function endedOffline() {
    try { return localStorage.getItem("patrol-ended-" + roundId) === "1"; } catch (e) { return false; }
  }

  function record(p) {
    if (!Q() || endedOffline()) return Promise.resolve();
    return Q().addRoutePoint({
      roundId: roundId, url: box.dataset.pointsUrl, label: box.dataset.label, pageUrl: box.dataset.pageUrl,
      p: [+p.lon.toFixed(6), +p.lat.toFixed(6), Math.round(p.t), p.accuracy == null ? null : Math.round(p.accuracy)]
    }).then(showWaiting);
  }

  function onPosition(pos) {
    var p = { lon: pos.coords.longitude, lat: pos.coords.latitude, t: pos.timestamp || Date.now(),
              accuracy: pos.coords.accuracy };
    if (p.t !== lastT) { lastT = p.t; record(p).catch(function () {}); }
    try { sessionStorage.setItem("patrol-last", JSON.stringify(p)); } catch (e) { /* full */ }
    fillForms(p);
    box.classList.add("p-ok"); box.classList.remove("p-bad");
    text.textContent = box.dataset.msgFix.replace("{m}", Math.round(p.accuracy || 0));
  }
  function onError() {
    box.classList.add("p-bad"); box.classList.remove("p-ok");
    text.textContent = box.dataset.msgDenied;
  }

  /* Online: the whole queue is sent (route batches among the other steps, in order).
     Offline: the waiting points become queued batches, shown on the queue page. */
  function send() {
    if (!Q()) return Promise.resolve();
    var step = navigator.onLine && window.GDApp ? window.GDApp.sync() : Q().queueRoutePoints();
    return step.then(function (summary) {
      if (!summary || !summary.sent) return;
      summary.sent.filter(mine).forEach(function (item) {
        if (item.answer) {
          routeText.textContent = box.dataset.msgRecorded.replace("{points}", item.answer.point_count)
            .replace("{distance}", item.answer.distance);
          var distance = document.getElementById("patrol-distance");  // the round's figures
          if (distance) distance.textContent = item.answer.distance;
        }
      });
      summary.refused.filter(mine).forEach(function (item) {
        box.classList.add("p-bad"); box.classList.remove("p-ok"); text.textContent = item.error;
      });
    }).catch(function () {}).then(showWaiting);
  }
  window.patrolSend = send;

  /* Points an older version of this page kept in sessionStorage go to IndexedDB too. */
  function adoptOldPoints() {
    var key = "patrol-queue-" + roundId, old = [];
    try { old = JSON.parse(sessionStorage.getItem(key) || "[]"); } catch (e) { old = []; }
    sessionStorage.removeItem(key);
    return old.reduce(function (chain, p) { return chain.then(function () { return record(p); }); }, Promise.resolve());
  }

  document.addEventListener("DOMContentLoaded", function () {
    adoptOldPoints().catch(function () {}).then(showWaiting);
    if (navigator.geolocation) {
      navigator.geolocation.watchPosition(onPosition, onError,
        { enableHighAccuracy: true, maximumAge: 5000, timeout: 30000 });
    } else { onError(); }
    setInterval(send, every);
    setTimeout(send, 1500);
  });

  /* The photo is made smaller before it is sent (photo_shrink.js); the form waits for it. */
  var shrinking = Promise.resolve();
  document.querySelectorAll(".p-photo input[type=file]").forEach(function (input) {
    input.addEventListener("change", function () {
      var label = input.closest(".p-photo"), file = input.files && input.files[0];
      if (!file) return;
      if (window.GDPhotos) { shrinking = GDPhotos.shrinkInput(input).catch(function () {}); }
      label.classList.add("p-has-photo");
      var img = label.querySelector("img") || label.appendChild(document.createElement("img"));
      img.src = URL.createObjectURL(file);
      var span = label.querySelector(".p-photo-text"); if (span) span.hidden = true;
    });
  });
  /* Offline, a form of the round (check-in, report, end) waits in the phone's queue like the
     ticket steps: sent in order once back online, with its own Idempotency-Key (the server
     answers a repeat with the first answer, so nothing is stored twice). The route points
     recorded so far are queued before it. */
  function queueForm(form, submitter) {
    var fields = [], files = [];
    new FormData(form).forEach(function (value, name) {
      if (value instanceof File) {
        if (value.name) files.push({ field: name, name: value.name, type: value.type, blob: value });
      } else if (name !== "csrf_token") { fields.push([name, value]); }  // the queue sends a fresh one
    });
    var label = form.dataset.queueLabel;
    if (submitter && submitter.name) {
      fields.push([submitter.name, submitter.value]);
      label += " · " + submitter.textContent.trim();
    }
    var item = { url: form.action || window.location.href, label: label,
                 ticketUrl: box.dataset.pageUrl, fields: fields, files: files };
    if (form.id === "patrol-end-form") {
      try { localStorage.setItem("patrol-ended-" + roundId, "1"); } catch (e) { /* private mode */ }
    }
    return Q().queueRoutePoints().then(function () { return Q().enqueue(item); }).then(function () {
      form.hidden = true;
      var note = document.createElement("div");
      note.className = "m-flash m-flash-info"; note.id = "patrol-form-queued"; note.setAttribute("role", "status");
      note.textContent = box.dataset.msgFormQueued + " ";
      var back = document.createElement("a"); back.href = box.dataset.pageUrl; back.textContent = box.dataset.msgBack;
      note.appendChild(back);
      form.parentNode.insertBefore(note, form);
      if (window.GDApp && window.GDApp.refreshBadge) window.GDApp.refreshBadge();
      if ("serviceWorker" in navigator) {
        navigator.serviceWorker.ready.then(function (reg) { if (reg.sync) return reg.sync.register("gd-queue"); }).catch(function () {});
      }
      return showWaiting();
    });
  }

  /* The round's form pages are fetched once online, so the service worker has them offline. */
  if (navigator.onLine) {
    document.querySelectorAll("a[data-offline]").forEach(function (link) {
      fetch(link.href, { credentials: "same-origin" }).catch(function () {});
    });
  }

  /* Before a form of the round leaves the page (check-in, report, end), the route so far is
     sent (waiting at most a few seconds), so the round's distance is up to date. */
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.routeSent) return;
      event.preventDefault();
      var submitter = event.submitter;
      var go = function () {
        form.dataset.routeSent = "1";
        if (!navigator.onLine && Q() && form.dataset.queueLabel) {
          queueForm(form, submitter).catch(function (error) {
            delete form.dataset.routeSent; text.textContent = String(error);
          });
          return;
        }
        if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
      };
      var routeSent = Promise.race([send(), new Promise(function (resolve) { setTimeout(resolve, 4000); })]);
      Promise.all([routeSent, shrinking]).then(go, go);
    });
  });
})();
