/* Behaviour that used to sit in inline handlers, which the Content-Security-Policy forbids
   (admin_app/headers.py): confirmations, list actions, auto-submitting selects, and links whose
   href is "javascript:void(0)" (Flask-Admin's tabs and dropdowns) that must not navigate. */
(function () {
  'use strict';
  document.addEventListener('click', function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) { return; }
    var inert = target.closest('a[href^="javascript:"]');
    if (inert) { event.preventDefault(); }
    var action = target.closest('[data-gd-action]');
    if (action && window.modelActions) {
      event.preventDefault();
      window.modelActions.execute(action.getAttribute('data-gd-action'));
      return;
    }
    var asking = target.closest('button[data-gd-confirm], a[data-gd-confirm]');
    if (asking && !window.confirm(asking.getAttribute('data-gd-confirm'))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (form.matches && form.matches('form[data-gd-confirm]') &&
        !window.confirm(form.getAttribute('data-gd-confirm'))) {
      event.preventDefault();
    }
  }, true);
  document.addEventListener('change', function (event) {
    var field = event.target;
    if (field.matches && field.matches('[data-gd-autosubmit]') && field.form) {
      field.form.submit();
    }
  });
})();
