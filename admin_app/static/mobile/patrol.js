/* Patrol route recorder: watchPosition while the page is open, points queued in sessionStorage
   (they survive moving between the round's pages) and sent every few seconds; the forms' hidden
   lon/lat get the latest position. */
(function () {
  "use strict";
  var box = document.getElementById("patrol-recorder");
  if (!box) return;
  var url = box.dataset.pointsUrl, every = (+box.dataset.sendEvery || 15) * 1000;
  var batchMax = +box.dataset.batchMax || 200, key = "patrol-queue-" + box.dataset.roundId;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var text = document.getElementById("patrol-gps-text"), routeText = document.getElementById("patrol-route-text");
  var queue = [], sending = false, stopped = false;
  try { queue = JSON.parse(sessionStorage.getItem(key) || "[]"); } catch (e) { queue = []; }
  function save() { try { sessionStorage.setItem(key, JSON.stringify(queue)); } catch (e) { /* full */ } }

  function fillForms(p) {
    document.querySelectorAll('input[name="lon"]').forEach(function (i) { i.value = p.lon; });
    document.querySelectorAll('input[name="lat"]').forEach(function (i) { i.value = p.lat; });
  }
  var last = null;
  try { last = JSON.parse(sessionStorage.getItem("patrol-last") || "null"); } catch (e) { last = null; }
  if (last) fillForms(last);

  function onPosition(pos) {
    var p = { lon: pos.coords.longitude, lat: pos.coords.latitude, t: pos.timestamp || Date.now(),
              accuracy: pos.coords.accuracy };
    if (!queue.length || queue[queue.length - 1].t !== p.t) { queue.push(p); save(); }
    sessionStorage.setItem("patrol-last", JSON.stringify(p));
    fillForms(p);
    box.classList.add("p-ok"); box.classList.remove("p-bad");
    text.textContent = box.dataset.msgFix.replace("{m}", Math.round(p.accuracy || 0));
  }
  function onError() {
    box.classList.add("p-bad"); box.classList.remove("p-ok");
    text.textContent = box.dataset.msgDenied;
  }
  if (navigator.geolocation) {
    navigator.geolocation.watchPosition(onPosition, onError,
      { enableHighAccuracy: true, maximumAge: 5000, timeout: 30000 });
  } else { onError(); }

  function send() {
    if (sending || stopped || !queue.length || !navigator.onLine) return;
    var batch = queue.slice(0, batchMax);
    sending = true;
    fetch(url, { method: "POST", credentials: "same-origin",
                 headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
                 body: JSON.stringify({ points: batch }) })
      .then(function (r) { return r.json().then(function (j) { return { status: r.status, body: j }; }); })
      .then(function (res) {
        if (res.status === 200 || res.status === 422) { queue = queue.slice(batch.length); save(); }
        if (res.status === 200) {
          routeText.textContent = box.dataset.msgRecorded.replace("{points}", res.body.point_count)
            .replace("{distance}", res.body.distance);
        } else if (res.status === 403 || res.status === 409) {
          stopped = true; queue = []; save(); text.textContent = res.body.message;
        }
      })
      .catch(function () { /* offline: the points stay queued */ })
      .then(function () { sending = false; });
  }
  window.patrolSend = send;  // also called on every form submit
  setInterval(send, every);
  setTimeout(send, 1500);

  document.querySelectorAll(".p-photo input[type=file]").forEach(function (input) {
    input.addEventListener("change", function () {
      var label = input.closest(".p-photo"), file = input.files && input.files[0];
      if (!file) return;
      label.classList.add("p-has-photo");
      var img = label.querySelector("img") || label.appendChild(document.createElement("img"));
      img.src = URL.createObjectURL(file);
      var span = label.querySelector(".p-photo-text"); if (span) span.hidden = true;
    });
  });
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", send);
  });
})();
