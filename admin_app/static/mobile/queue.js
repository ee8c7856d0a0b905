/* GridDesk field app: the offline queue (IndexedDB), shared by the pages and the service worker.
 * Every step is stored with its own Idempotency-Key and sent in order; the server answers a
 * repeat with the first answer, so a retry never does a step twice. No DOM here. */
(function (scope) {
  "use strict";
  var DB_NAME = "griddesk-m", STORE = "queue", SESSION_URL = "/m/api/session";

  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () {
        var store = req.result.createObjectStore(STORE, { keyPath: "key" });
        store.createIndex("queuedAt", "queuedAt");
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function tx(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode), store = t.objectStore(STORE), result;
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

  /* item: {url, label, ticketId, ticketUrl, fields: [[name, value]], files: [{field, name, type, blob}]} */
  function enqueue(item) {
    return all().then(function (items) {
      var before = items.filter(function (i) {
        return i.state === "pending" && item.ticketId && i.ticketId === item.ticketId;
      }).pop();
      item.key = newKey();
      item.state = "pending";
      item.queuedAt = Date.now();
      item.afterKey = before ? before.key : null;  // take the version that step leaves behind
      return put(item).then(function () { return item; });
    });
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
    return all().then(function (items) {
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
    return fetch(item.url, {
      method: "POST", credentials: "same-origin", body: formData(item, versions),
      headers: { "Idempotency-Key": item.key, "X-CSRFToken": csrf, Accept: "application/json" }
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) {
        if (resp.ok) {
          item.state = "done"; item.sentAt = Date.now(); item.result = body.ticket || null;
          if (body.ticket && body.ticket.version) { item.resultVersion = body.ticket.version; versions[item.key] = body.ticket.version; }
          summary.sent.push(item);
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

  scope.GDQueue = { all: all, enqueue: enqueue, drain: drain, remove: remove, prune: prune };
})(typeof self !== "undefined" ? self : window);
