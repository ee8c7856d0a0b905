/* The ticket list's filters with many choices (views/admin/ticket_views.py, ChoiceFilter past
   TYPEAHEAD_OVER): the page carries no options for them, only their type "gd-typeahead" and, in
   the filter groups' data, the address of their matches, the labels of the active values and
   the texts to show. This turns such a filter's value box into a select2 (3.5, shipped with
   Flask-Admin) that asks the server as the user types. Loaded before Flask-Admin's form.js, it
   adds its converter when form.js announces itself ("adminFormReady"). */
(function ($) {
  'use strict';
  var groupsByArg = null;

  function filterOf($field) {
    if (groupsByArg === null) {
      groupsByArg = {};
      var data = document.getElementById('filter-groups-data');
      var groups = data ? JSON.parse(data.textContent) : {};
      $.each(groups, function (label, items) {
        $.each(items, function (i, item) { groupsByArg[String(item.arg)] = item; });
      });
    }
    var name = $field.attr('name') || '';  // flt<position>_<arg>
    return groupsByArg[name.slice(name.indexOf('_') + 1)];
  }

  function typeahead($field, name) {
    if (name !== 'gd-typeahead') { return false; }
    var filter = filterOf($field);
    if (!filter || !filter.typeahead) { return false; }
    var config = filter.typeahead, texts = config.texts;
    $field.attr('type', 'hidden').addClass('gd-typeahead');
    $field.select2({
      width: '22em',
      placeholder: texts.placeholder,
      minimumInputLength: 1,
      formatInputTooShort: function () { return texts.too_short; },
      formatSearching: function () { return texts.searching; },
      formatNoMatches: function () { return texts.none; },
      formatAjaxError: function (xhr) {
        return (xhr && xhr.responseJSON && xhr.responseJSON.error) || texts.failed;
      },
      ajax: {
        url: config.url,
        dataType: 'json',
        quietMillis: 250,
        data: function (term) { return {q: term}; },
        results: function (data) {
          var results = data.results.slice();
          if (data.more) { results.push({id: '', text: texts.more, disabled: true}); }
          return {results: results, more: false};
        }
      },
      initSelection: function (element, callback) {
        var value = $(element).val();
        if (!value) { callback(null); return; }
        var label = config.labels[value];
        callback({id: value, text: label === undefined ? value + ' ' + texts.unknown : label});
      }
    });
    return true;
  }

  $(document).on('adminFormReady', function register() {
    if (window.faForm && !window.faForm.gdTypeahead) {
      window.faForm.gdTypeahead = true;
      window.faForm.addFieldConverter(typeahead);
    }
  });
})(jQuery);
