/* Loads htmx only where the browser can run it.
   Written in ES5 so every browser parses this file; htmx 2.0.4 (ES2015) is
   added only when the features it needs are present. Without it every page
   still works: forms and links are real. */
(function () {
  var me = document.querySelector && document.querySelector('script[data-htmx]');
  if (!me || !window.Promise || !window.XMLHttpRequest || !('classList' in document.documentElement) ||
      typeof Symbol === 'undefined' || !window.CustomEvent) {
    return;
  }
  var s = document.createElement('script');
  s.src = me.getAttribute('data-htmx');
  document.head.appendChild(s);
})();
