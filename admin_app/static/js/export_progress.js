// The progress of a background export: polls its status and shows the download when ready.
(function () {
  var box = document.getElementById('gd-export-job');
  if (!box || !window.fetch) { return; }
  var bar = box.querySelector('.progress-bar');
  var text = document.getElementById('gd-export-progress-text');
  var link = document.getElementById('gd-export-download');
  var error = document.getElementById('gd-export-error');
  var state = document.getElementById('gd-export-state');
  function show(data) {
    if (state) { state.textContent = data.state_label; }
    bar.style.width = data.percent + '%';
    bar.textContent = data.percent + '%';
    text.textContent = data.progress_text;
    if (data.download_url) {
      link.href = data.download_url;
      link.classList.remove('d-none');
      bar.classList.remove('progress-bar-animated', 'progress-bar-striped');
    }
    if (data.error) {
      error.textContent = data.error;
      error.classList.remove('d-none');
      bar.classList.remove('progress-bar-animated', 'progress-bar-striped');
    }
    if (!data.finished) { window.setTimeout(poll, 1000); }
  }
  function poll() {
    fetch(box.getAttribute('data-status-url'), {credentials: 'same-origin'})
      .then(function (response) { return response.json(); })
      .then(show)
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  if (box.getAttribute('data-finished') !== 'true') { poll(); }
})();
