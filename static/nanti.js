/* Inlined (allowed by its hash) on pages where htmx only improves something the person has not touched
   yet, such as search as you type: on 2G any script fetched before the page is painted delays the paint.
   The first focus, key or touch loads app.js (which loads htmx); until then the form works as a form.
   ES5, no DOM beyond getAttribute. */
(function () {
  var meta = document.querySelector && document.querySelector('meta[name="mpp-app"]');
  if (!meta || !document.addEventListener) { return; }
  var done = false;
  function load() {
    if (done) { return; }
    done = true;
    var s = document.createElement('script');
    s.src = meta.getAttribute('content');
    s.setAttribute('data-htmx', meta.getAttribute('data-htmx'));
    document.head.appendChild(s);
  }
  var events = ['focusin', 'keydown', 'touchstart', 'mousedown'];
  for (var i = 0; i < events.length; i++) { document.addEventListener(events[i], load, true); }
})();
