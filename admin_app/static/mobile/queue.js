/* GridDesk field app: the offline queue (IndexedDB), shared by the pages and the service worker.
 * Every step is stored with its own Idempotency-Key and sent in order; the server answers a
 * repeat with the first answer, so a retry never does a step twice. No DOM here.
 * Patrol route points wait in their own store ("route", one compact [lon, lat, t, accuracy]
 * row each) and are moved into the queue in batches, each batch one step with its own key. */
(function (scope) {
  "use strict";
  var DB_NAME = "griddesk-m", STORE = "queue", ROUTE = "route", SESSION_URL = "/m/api/session";
  var ROUTE_BATCH = 200;  // the server's MAX_POINTS_PER_REQUEST

  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB_NAME, 2);
      req.onupgradeneeded = function () {
        var db = req.result;
        if (!db.objectStoreNames.contains(STORE)) {
          db.createObjectStore(STORE, { keyPath: "key" }).createIndex("queuedAt", "queuedAt");
        }
        if (!db.objectStoreNames.contains(ROUTE)) {
          db.createObjectStore(ROUTE, { keyPath: "n", autoIncrement: true });
        }
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function tx(mode, work, stores) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(stores || STORE, mode), result;
        var store = stores ? t : t.objectStore(STORE);
        Promise.resolve(work(store)).then(function (r) { result = r; });
        t.oncomplete = function () { db.close(); resolve(result); };
        t.onerror = t.onabort = function () { db.close(); reject(t.error); };
      });
    });
  }

  function request(req) {
    return new Promise(function (resolve, reject) {
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function all() {
    return tx("readonly", function (store) { return request(store.index("queuedAt").getAll()); });
  }

  function put(item) { return tx("readwrite", function (store) { return request(store.put(item)); }); }
  function remove(key) { return tx("readwrite", function (store) { return request(store.delete(key)); }); }

  function newKey() {
    if (scope.crypto && scope.crypto.randomUUID) { return "m-" + scope.crypto.randomUUID(); }
    return "m-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function versionField(item) {
    var found = (item.fields || []).filter(function (pair) { return pair[0] === "version"; })[0];
    return found ? String(found[1]) : null;
  }

  /* item: {url, label, ticketId, ticketUrl, fields: [[name, value]], files: [{field, name, type, blob}]}
   * A step follows the last one on the same ticket still waiting, or else the last one sent from
   * the same page (the same version field): that step, the worker's own, is the only change the
   * page has not seen, so this one takes the version it left (without it, a note written after
   * an accept sent in the background was refused as "changed by someone else" and lost). */
  function enqueue(item) {
    return all().then(function (items) {
      var same = items.filter(function (i) { return item.ticketId && i.ticketId === item.ticketId; });
      var before = same.filter(function (i) { return i.state === "pending"; }).pop() ||
        same.filter(function (i) {
          return i.state === "done" && i.resultVersion && versionField(i) === versionField(item);
        }).pop();
      item.key = newKey();
      item.state = "pending";
      item.queuedAt = Date.now();
      item.afterKey = before ? before.key : null;  // take the version that step leaves behind
      return put(item).then(function () { return item; });
    });
  }

  /* A patrol route point: {roundId, url (where the round's points go), label, pageUrl, p: [lon, lat, t, accuracy]}. */
  function addRoutePoint(point) {
    return tx("readwrite", function (t) { return request(t.objectStore(ROUTE).add(point)); }, [ROUTE]);
  }

  /* Move the waiting route points into the queue, at most ROUTE_BATCH a step, in one
   * transaction (a point is either waiting or queued, never both, never lost). */
  function queueRoutePoints() {
    return tx("readwrite", function (t) {
      var route = t.objectStore(ROUTE), queue = t.objectStore(STORE);
      return request(route.getAll()).then(function (points) {
        var batches = [], byRound = {};
        points.forEach(function (point) {
          var batch = byRound[point.roundId];
          if (!batch || batch.json.points.length >= ROUTE_BATCH) {
            batch = byRound[point.roundId] = {
              key: newKey(), state: "pending", queuedAt: Date.now() + batches.length / 1000, url: point.url,
              label: point.label, ticketUrl: point.pageUrl, routeOf: point.roundId, fields: [], files: [],
              json: { points: [] } };
            batches.push(batch);
          }
          batch.json.points.push(point.p);
        });
        batches.forEach(function (batch) { queue.put(batch); });
        if (points.length) { route.clear(); }
        return batches.length;
      });
    }, [ROUTE, STORE]);
  }

  /* Route points not yet sent, per round id: waiting to be batched and in queued steps. */
  function routeWaiting() {
    return tx("readonly", function (t) {
      return Promise.all([request(t.objectStore(ROUTE).getAll()), request(t.objectStore(STORE).getAll())]);
    }, [ROUTE, STORE]).then(function (both) {
      var counts = {};
      both[0].forEach(function (point) { counts[point.roundId] = (counts[point.roundId] || 0) + 1; });
      both[1].forEach(function (item) {
        if (item.routeOf && item.state === "pending") { counts[item.routeOf] = (counts[item.routeOf] || 0) + item.json.points.length; }
      });
      return counts;
    });
  }

  function body(item, versions) {
    if (item.json) { return JSON.stringify(item.json); }
    return formData(item, versions);
  }

  function formData(item, versions) {
    var data = new FormData();
    item.fields.forEach(function (pair) {
      var value = pair[1];
      if (pair[0] === "version" && item.afterKey && versions[item.afterKey]) { value = String(versions[item.afterKey]); }
      data.append(pair[0], value);
    });
    (item.files || []).forEach(function (f) { data.append(f.field, f.blob, f.name); });
    return data;
  }

  var draining = null;

  /* Send what waits, oldest first. Resolves to {sent, refused, waiting, needsLogin}. */
  function drain() {
    if (draining) { return draining; }
    draining = doDrain().then(function (r) { draining = null; return r; },
                              function (e) { draining = null; throw e; });
    return draining;
  }

  function doDrain() {
    var summary = { sent: [], refused: [], waiting: 0, needsLogin: false };
    return queueRoutePoints().then(all).then(function (items) {
      var pending = items.filter(function (i) { return i.state === "pending"; });
      if (!pending.length) { return summary; }
      var versions = {};
      items.forEach(function (i) { if (i.resultVersion) { versions[i.key] = i.resultVersion; } });
      return fetch(SESSION_URL, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (resp) {
          if (resp.status === 401 || resp.redirected) { summary.needsLogin = true; return null; }
          if (!resp.ok) { return null; }
          return resp.json();
        }, function () { return null; })
        .then(function (session) {
          if (!session) { summary.waiting = pending.length; return summary; }
          return pending.reduce(function (chain, item) {
            return chain.then(function (stop) {
              if (stop) { summary.waiting += 1; return true; }
              return sendOne(item, session.csrf_token, versions, summary);
            });
          }, Promise.resolve(false)).then(function () { return summary; });
        });
    });
  }

  function sendOne(item, csrf, versions, summary) {
    var headers = { "Idempotency-Key": item.key, "X-CSRFToken": csrf, Accept: "application/json" };
    if (item.json) { headers["Content-Type"] = "application/json"; }
    return fetch(item.url, {
      method: "POST", credentials: "same-origin", body: body(item, versions), headers: headers
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) {
        if (resp.ok) {
          item.state = "done"; item.sentAt = Date.now(); item.result = body.ticket || null;
          if (item.routeOf) { item.answer = body; }
          if (body.ticket && body.ticket.version) { item.resultVersion = body.ticket.version; versions[item.key] = body.ticket.version; }
          summary.sent.push(item);
          if (item.routeOf) { return remove(item.key).then(function () { return false; }); }  // the sent list is for steps on tickets
          return put(item).then(function () { return false; });
        }
        if (resp.status === 401) { summary.needsLogin = true; summary.waiting += 1; return true; }
        if (resp.status >= 500 || resp.status === 408 || resp.status === 429) { summary.waiting += 1; return true; }
        item.state = "refused"; item.status = resp.status; item.refusedAt = Date.now();
        item.error = (body.error && body.error.message) || ("HTTP " + resp.status);
        summary.refused.push(item);
        return put(item).then(function () { return false; });
      });
    }, function () { summary.waiting += 1; return true; });  // still offline: keep it, stop here
  }

  function prune() {  // keep the last 20 sent steps for the queue page
    return all().then(function (items) {
      var done = items.filter(function (i) { return i.state === "done"; });
      return Promise.all(done.slice(0, Math.max(0, done.length - 20)).map(function (i) { return remove(i.key); }));
    });
  }

  scope.GDQueue = { all: all, enqueue: enqueue, drain: drain, remove: remove, prune: prune,
                    addRoutePoint: addRoutePoint, queueRoutePoints: queueRoutePoints, routeWaiting: routeWaiting };
})(typeof self !== "undefined" ? self : window);
