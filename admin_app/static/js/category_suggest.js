/* Category suggestion while someone types a description (admin hotline form, phone patrol
   report, resident page). Markup:
     <div class="gd-suggest" data-url="…/suggest" data-for="#description" data-none="…"
          data-few="…" data-because="…"></div>
   The form's category choices carry data-code: an <option>, a radio <input>, or a submit
   <button> (the phone's "tap to report"); a chip picks (or taps) the one with its code. */
(function () {
  "use strict";
  function setup(box) {
    var field = document.querySelector(box.getAttribute("data-for"));
    var form = box.closest("form") || document;
    if (!field) { return; }
    var timer = null, asked = "";

    function choice(code) {
      return form.querySelector('[data-code="' + code + '"]');
    }

    function pick(code) {
      var target = choice(code);
      if (!target) { return; }
      if (target.tagName === "OPTION") {
        target.parentNode.value = target.value;
        target.parentNode.dispatchEvent(new Event("change", { bubbles: true }));
      } else if (target.tagName === "INPUT") {
        target.checked = true;
        target.dispatchEvent(new Event("change", { bubbles: true }));
      } else {
        target.click();
      }
      box.querySelectorAll(".gd-chip").forEach(function (chip) {
        chip.classList.toggle("gd-chip-on", chip.getAttribute("data-code") === code);
      });
    }

    function shown() {  // the label only with something under it
      var wrap = box.closest(".gd-suggest-wrap");
      if (wrap) { wrap.hidden = !box.childNodes.length; }
    }

    function note(text) {
      box.textContent = "";
      if (text) {
        var span = document.createElement("span");
        span.className = "gd-suggest-note";
        span.textContent = text;
        box.appendChild(span);
      }
      shown();
    }

    function show(data) {
      if (!data.enough_history) { note(box.getAttribute("data-few")); return; }
      var items = data.items.filter(function (item) { return choice(item.code); });
      if (!items.length) { note(asked ? box.getAttribute("data-none") : ""); return; }
      box.textContent = "";
      items.forEach(function (item) {
        var chip = document.createElement("button");
        chip.type = "button";
        chip.className = "gd-chip";
        chip.setAttribute("data-code", item.code);
        var name = document.createElement("span");
        name.className = "gd-chip-name";
        name.textContent = item.name;
        chip.appendChild(name);
        if (item.words.length) {
          var words = document.createElement("span");
          words.className = "gd-chip-words";
          words.textContent = box.getAttribute("data-because") + item.words.join(" · ");
          chip.appendChild(words);
        }
        chip.addEventListener("click", function () { pick(item.code); });
        box.appendChild(chip);
      });
      shown();
    }

    function ask() {
      var text = field.value.trim();
      if (text === asked) { return; }
      asked = text;
      if (text.length < 2) { note(""); return; }
      var url = box.getAttribute("data-url") + "?text=" + encodeURIComponent(text);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && text === asked) { show(data); } })
        .catch(function () {});
    }

    field.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 350);
    });
    if (field.value.trim()) { ask(); }
  }
  document.querySelectorAll(".gd-suggest").forEach(setup);
})();
