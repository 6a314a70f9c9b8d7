/* Loads htmx only where the browser can run it.
   Written in ES5 so every browser parses this file; htmx 2.0.4 (ES2015) is
   added only when the features it needs are present. Without it every page
   still works: forms and links are real.
   A script added this way usually arrives after DOMContentLoaded while the
   page is still 'interactive'; htmx 2 then waits for a DOMContentLoaded that
   has already fired, so the event is announced again once htmx has loaded. */
(function () {
  var me = document.querySelector && document.querySelector('script[data-htmx]');
  if (!me || !window.Promise || !window.XMLHttpRequest || !('classList' in document.documentElement) ||
      typeof Symbol === 'undefined' || !window.CustomEvent) {
    return;
  }
  var s = document.createElement('script');
  s.src = me.getAttribute('data-htmx');
  s.onload = function () {
    // the autosave runs with htmx: only now is "saved automatically" true (see data-otomatis)
    var said = document.querySelectorAll('[data-otomatis]');
    for (var i = 0; i < said.length; i++) { said[i].textContent = said[i].getAttribute('data-otomatis'); }
    if (document.readyState === 'interactive') {
      var ready = document.createEvent('Event');
      ready.initEvent('DOMContentLoaded', true, true);
      document.dispatchEvent(ready);
    }
  };
  document.head.appendChild(s);
})();
