/* Photos are made smaller in the browser before they are queued or uploaded: a phone camera's
 * 12-50 megapixel photo becomes a JPEG of at most MAX_SIDE pixels a side (quality QUALITY), a
 * tenth of the bytes to keep in IndexedDB and to send over a weak network. The server still
 * checks, re-encodes and strips every photo as before.
 * Re-drawing drops the EXIF, and with it the place where the photo was taken, which the server
 * uses when a report has no place: so that place is read from the original first and sent
 * beside the photo (form field "photo_gps" = "lat,lon", one per photo, in the photos' order).
 * A file the browser cannot draw (or a small one) is kept as it is. Used by /report and /m/. */
(function (scope) {
  "use strict";
  var MAX_SIDE = 2048, QUALITY = 0.85, SMALL_BYTES = 1536 * 1024;

  /* --- the GPS block of a JPEG's EXIF (APP1), read from the first 256 KB ------------------ */
  function readGps(file) {
    if (!file || !file.slice) { return Promise.resolve(null); }
    return file.slice(0, 256 * 1024).arrayBuffer().then(function (buffer) {
      try { return gpsOf(new DataView(buffer)); } catch (e) { return null; }
    }, function () { return null; });
  }

  function gpsOf(view) {
    if (view.byteLength < 4 || view.getUint16(0) !== 0xFFD8) { return null; }
    var at = 2;
    while (at + 4 <= view.byteLength) {
      var marker = view.getUint16(at), size = view.getUint16(at + 2);
      if (marker === 0xFFE1 && view.getUint32(at + 4) === 0x45786966) { return tiffGps(view, at + 10); }  // "Exif"
      if ((marker & 0xFF00) !== 0xFF00 || marker === 0xFFDA) { return null; }  // image data: no EXIF before it
      at += 2 + size;
    }
    return null;
  }

  function tiffGps(view, tiff) {
    var little = view.getUint16(tiff) === 0x4949;
    var u16 = function (o) { return view.getUint16(tiff + o, little); };
    var u32 = function (o) { return view.getUint32(tiff + o, little); };
    var entries = function (ifd) {
      var found = {}, count = u16(ifd);
      for (var i = 0; i < count; i++) {
        var e = ifd + 2 + i * 12;
        found[u16(e)] = { type: u16(e + 2), count: u32(e + 4), value: e + 8 };
      }
      return found;
    };
    var gpsPointer = entries(u32(4))[0x8825];
    if (!gpsPointer) { return null; }
    var gps = entries(u32(gpsPointer.value));
    var ref = function (tag) { return gps[tag] ? String.fromCharCode(view.getUint8(tiff + gps[tag].value)) : ""; };
    var degrees = function (tag) {
      var entry = gps[tag];
      if (!entry || entry.type !== 5 || entry.count !== 3) { return NaN; }
      var at = u32(entry.value), parts = [];
      for (var i = 0; i < 3; i++) { parts.push(u32(at + i * 8) / u32(at + i * 8 + 4)); }
      return parts[0] + parts[1] / 60 + parts[2] / 3600;
    };
    var lat = degrees(2), lon = degrees(4);
    if (ref(1) === "S") { lat = -lat; }
    if (ref(3) === "W") { lon = -lon; }
    if (!isFinite(lat) || !isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180 || (lat === 0 && lon === 0)) { return null; }
    return [lat, lon];
  }

  /* --- drawing smaller ----------------------------------------------------------------------- */
  function decode(file) {
    if (scope.createImageBitmap) {
      return createImageBitmap(file, { imageOrientation: "from-image" });  // upright, as the camera meant
    }
    return new Promise(function (resolve, reject) {
      var img = new Image(), url = URL.createObjectURL(file);
      img.onload = function () { URL.revokeObjectURL(url); resolve(img); };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("not an image")); };
      img.src = url;
    });
  }

  function jpegName(name) { return (name || "photo").replace(/\.[^./\\]*$/, "") + ".jpg"; }

  /* file → Promise<{file, gps: [lat, lon] | null}>; never rejects (the original on any trouble). */
  function shrink(file) {
    return readGps(file).then(function (gps) {
      if (!file || !/^image\//.test(file.type || "image/")) { return { file: file, gps: gps }; }
      return decode(file).then(function (image) {
        var width = image.width, height = image.height, longest = Math.max(width, height);
        if (longest <= MAX_SIDE && file.size <= SMALL_BYTES) { return { file: file, gps: gps }; }
        var scale = Math.min(1, MAX_SIDE / longest);
        var canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(width * scale));
        canvas.height = Math.max(1, Math.round(height * scale));
        var context = canvas.getContext("2d");
        context.fillStyle = "#fff";  // a transparent PNG becomes white, not black
        context.fillRect(0, 0, canvas.width, canvas.height);
        context.drawImage(image, 0, 0, canvas.width, canvas.height);
        if (image.close) { image.close(); }
        return new Promise(function (resolve) {
          canvas.toBlob(function (blob) {
            if (!blob || blob.size >= file.size) { resolve({ file: file, gps: gps }); return; }
            resolve({ file: new File([blob], jpegName(file.name), { type: "image/jpeg", lastModified: file.lastModified }), gps: gps });
          }, "image/jpeg", QUALITY);
        });
      }).catch(function () { return { file: file, gps: gps }; });
    });
  }

  function gpsText(gps) { return gps ? gps[0].toFixed(6) + "," + gps[1].toFixed(6) : ""; }

  /* Shrink the files picked in a file input, in place (the form then sends the small ones).
   * Resolves to the GPS of each file, in order. */
  function shrinkInput(input) {
    var files = Array.prototype.slice.call(input.files || []);
    if (!files.length) { return Promise.resolve([]); }
    return Promise.all(files.map(shrink)).then(function (results) {
      if (scope.DataTransfer) {
        try {
          var transfer = new DataTransfer();
          results.forEach(function (r) { transfer.items.add(r.file); });
          input.files = transfer.files;
        } catch (e) { /* an old browser: the originals are sent */ }
      }
      return results.map(function (r) { return r.gps; });
    });
  }

  scope.GDPhotos = { shrink: shrink, shrinkInput: shrinkInput, readGps: readGps, gpsText: gpsText,
                     MAX_SIDE: MAX_SIDE, QUALITY: QUALITY };
})(window);
