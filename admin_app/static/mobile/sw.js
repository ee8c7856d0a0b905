/* GridDesk field app service worker (scope /m/): the app shell and the inbox open offline;
 * queued steps are sent by Background Sync where the browser has it (the pages also send them
 * on the "online" event). */
"use strict";
importScripts("/static/mobile/queue.js");

var SHELL_CACHE = "gd-m-shell-v8", PAGE_CACHE = "gd-m-pages-v1";
var SHELL = ["/static/mobile/mobile.css", "/static/mobile/app.js", "/static/mobile/queue.js",
             "/static/mobile/patrol.js", "/static/mobile/patrol.css", "/static/js/photo_shrink.js",
             "/static/mobile/icons/icon-192.png", "/static/mobile/icons/icon-512.png",
             "/static/vendor/leaflet-1.9.4/leaflet.js", "/static/vendor/leaflet-1.9.4/leaflet.css",
             "/m/manifest.webmanifest"];
var PAGES = ["/m/", "/m/queue", "/m/me", "/m/patrol"];

self.addEventListener("install", function (event) {
  event.waitUntil(Promise.all([
    caches.open(SHELL_CACHE).then(function (cache) { return cache.addAll(SHELL); }),
    caches.open(PAGE_CACHE).then(function (cache) {
      return Promise.all(PAGES.map(function (url) {
        return fetch(url, { credentials: "same-origin" }).then(function (resp) {
          if (resp.ok && !resp.redirected) { return cache.put(url, resp); }
        }).catch(function () {});
      }));
    })
  ]).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== SHELL_CACHE && k !== PAGE_CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

var NOT_SAVED = '<!doctype html><html lang="zh-Hans"><head><meta charset="utf-8">' +
  '<meta name="viewport" content="width=device-width, initial-scale=1">' +
  '<link rel="stylesheet" href="/static/mobile/mobile.css"><title>离线</title></head><body class="m-body">' +
  '<header class="m-header"><h1 class="m-title">离线</h1></header><main class="m-main">' +
  '<div class="m-card" id="m-not-saved"><h2 class="m-h2">此页面尚未保存在本机</h2>' +
  '<p>联网后再打开它。离线时可以打开“我的任务”和之前打开过的工单，在那里办理的步骤会先保存，联网后自动发送。</p>' +
  '<p><a class="m-btn m-btn-primary" href="/m/">打开我的任务</a></p></div></main></body></html>';

function networkFirst(request) {
  return fetch(request).then(function (resp) {
    if (resp.ok && !resp.redirected) {
      var copy = resp.clone();
      caches.open(PAGE_CACHE).then(function (cache) { cache.put(request, copy); });
    }
    return resp;
  }).catch(function () {
    // A page never saved on this phone says so (the inbox shown under its address looked like
    // the page itself, e.g. the patrol tab showing the task list).
    return caches.match(request, { cacheName: PAGE_CACHE }).then(function (hit) {
      return hit || new Response(NOT_SAVED, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
    });
  });
}

function cacheFirst(request) {
  return caches.match(request, { cacheName: SHELL_CACHE }).then(function (hit) {
    var refresh = fetch(request).then(function (resp) {
      if (resp.ok) { var copy = resp.clone(); caches.open(SHELL_CACHE).then(function (c) { c.put(request, copy); }); }
      return resp;
    });
    return hit || refresh;
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname.indexOf("/m/api/") === 0 || url.pathname === "/m/sw.js") { return; }
  if (url.pathname.indexOf("/m/") === 0) { event.respondWith(networkFirst(request)); return; }
  if (SHELL.indexOf(url.pathname) >= 0 || url.pathname.indexOf("/static/vendor/leaflet-1.9.4/") === 0) {
    event.respondWith(cacheFirst(request));
  }
});

function tellClients() {
  return self.clients.matchAll().then(function (clients) {
    clients.forEach(function (client) { client.postMessage({ type: "queue-drained" }); });
  });
}

self.addEventListener("sync", function (event) {
  if (event.tag === "gd-queue") { event.waitUntil(self.GDQueue.drain().then(tellClients)); }
});

self.addEventListener("message", function (event) {
  if (event.data === "drain") { event.waitUntil(self.GDQueue.drain().then(tellClients)); }
});
