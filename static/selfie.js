/* Selfie capture for the face check, ES5 so every browser can parse it.
   Where a camera API exists: a live preview, three small frames answering the
   server's pose challenge (each <= 360 px, JPEG q 0.6, about 10 KB), sent with
   the form's CSRF and idempotency fields, retried on a dropped line (the same
   idempotency key, so a retry never counts twice). While each frame is taken
   the whole screen shows the colour the server chose for it (data-warna), with
   the preview in the middle: the face, close to the screen, reflects it, which
   the server checks. Without a camera API, the plain file input of the form
   stays and nothing here runs. */
(function () {
  var form = document.getElementById('form-wajah');
  if (!form || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.FormData ||
      !window.XMLHttpRequest || !HTMLCanvasElement.prototype.toBlob) {
    return;
  }
  var MAX_SIDE = 360, QUALITY = 0.6, RETRIES = 4, COLOUR_MS = 700;
  var poses = (form.getAttribute('data-pose') || '').split(',');
  var colourList = form.getAttribute('data-warna') || '';
  var colours = colourList ? colourList.split(',') : [];
  var colourLayer = null;
  var steps = document.getElementById('arahan').getElementsByTagName('li');
  var video = document.getElementById('video');
  var button = document.getElementById('ambil');
  var status = document.getElementById('status-kamera');
  var frames = [];
  document.getElementById('kamera').hidden = false;

  function say(text) { status.textContent = text; }

  function fallback(text) {
    say(text + ' Gunakan pilihan foto di bawah.');
    button.hidden = true;
  }

  function start() {
    button.disabled = true;
    navigator.mediaDevices.getUserMedia({video: {facingMode: 'user', width: {ideal: 640}}, audio: false})
      .then(function (stream) {
        video.srcObject = stream;
        if (colours.length) { colourLayer = colourScreen(stream); }
        document.getElementById('tanpa-js').hidden = true;
        button.disabled = false;
        button.textContent = 'Ambil foto 1 dari ' + poses.length;
        button.onclick = capture;
        say('Langkah 1: ' + steps[0].textContent + ', lalu tekan tombol.');
      }, function () { fallback('Kamera tidak dapat dibuka.'); });
  }

  /* A full-screen layer in the chosen colour with its own view of the camera in the middle,
     hidden until a frame is taken. Styled through the DOM (the page's CSP allows no inline style). */
  function colourScreen(stream) {
    var layer = document.createElement('div');
    var view = document.createElement('video');
    var note = document.createElement('p');
    var s = layer.style;
    layer.setAttribute('aria-hidden', 'true');
    s.position = 'fixed'; s.top = '0'; s.left = '0'; s.right = '0'; s.bottom = '0';
    s.zIndex = '2147483647'; s.display = 'none'; s.textAlign = 'center';
    view.muted = true; view.autoplay = true;
    view.setAttribute('muted', ''); view.setAttribute('playsinline', '');
    view.style.width = '60%'; view.style.maxWidth = '320px'; view.style.marginTop = '25vh';
    view.style.border = '0'; view.style.background = 'transparent';
    view.srcObject = stream;
    note.textContent = 'Tahan posisi...';
    note.style.color = '#000'; note.style.background = '#fff'; note.style.display = 'inline-block';
    note.style.padding = '.25rem .5rem';
    layer.appendChild(view);
    layer.appendChild(note);
    document.body.appendChild(layer);
    return {layer: layer, view: view};
  }

  function showColour(colour) {
    colourLayer.layer.style.background = colour;
    colourLayer.layer.style.display = 'block';
    var playing = colourLayer.view.play && colourLayer.view.play();
    if (playing && playing.then) { playing.then(null, function () {}); }
  }

  function hideColour() {
    colourLayer.layer.style.display = 'none';
    colourLayer.layer.style.background = '';
  }

  function capture() {
    var w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) { say('Kamera belum siap, coba lagi.'); return; }
    button.disabled = true;
    var colour = colours[frames.length];
    if (colourLayer && colour) {
      say('Tahan posisi...');
      showColour(colour);
      setTimeout(function () { grab(w, h); hideColour(); }, COLOUR_MS);
    } else {
      grab(w, h);
    }
  }

  function grab(w, h) {
    var scale = Math.min(1, MAX_SIDE / Math.max(w, h));
    var canvas = document.createElement('canvas');
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    canvas.getContext('2d').drawImage(video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(function (blob) {
      frames.push(blob);
      var n = frames.length;
      if (n < poses.length) {
        button.disabled = false;
        button.textContent = 'Ambil foto ' + (n + 1) + ' dari ' + poses.length;
        say('Langkah ' + (n + 1) + ': ' + steps[n].textContent + ', lalu tekan tombol.');
      } else {
        send(0);
      }
    }, 'image/jpeg', QUALITY);
  }

  function send(attempt) {
    var data = new FormData();
    var inputs = form.querySelectorAll('input[type=hidden]');
    var bytes = 0, i;
    for (i = 0; i < inputs.length; i++) { data.append(inputs[i].name, inputs[i].value); }
    for (i = 0; i < frames.length; i++) {
      data.append('frame', frames[i], 'frame' + (i + 1) + '.jpg');
      bytes += frames[i].size;
    }
    say('Mengirim ' + Math.round(bytes / 1024) + ' KB…');
    var xhr = new XMLHttpRequest();
    xhr.open('POST', form.action);
    xhr.setRequestHeader('X-Unggah', '1');  // answer 204 + where to go: the message there is kept for us
    xhr.onload = function () {
      if (xhr.status === 204 && xhr.getResponseHeader('X-Lanjut')) {
        window.location.href = xhr.getResponseHeader('X-Lanjut');
      } else if (xhr.status >= 200 && xhr.status < 400 && xhr.responseURL) {
        window.location.href = xhr.responseURL;
      } else if (xhr.status >= 400 && xhr.status < 500 && xhr.status !== 408 && xhr.status !== 429) {
        refused(xhr.status);  /* sending the same again would be refused again: say why, start afresh */
      } else {
        retry(attempt, 'Server sedang sibuk.');
      }
    };
    xhr.onerror = function () { retry(attempt, 'Koneksi terputus.'); };
    xhr.send(data);
  }

  function refused(code) {
    say((code === 413 ? 'Foto terlalu besar untuk dikirim.' :
         code === 403 ? 'Halaman ini sudah terlalu lama terbuka.' : 'Foto tidak dapat diterima.') +
        ' Tekan tombol untuk memuat ulang halaman dan mengulang dengan arahan baru.');
    button.disabled = false;
    button.textContent = 'Ulangi';
    button.onclick = function () { window.location.reload(); };
  }

  function retry(attempt, why) {
    if (attempt + 1 >= RETRIES) {
      say(why + ' Foto belum terkirim. Periksa sinyal lalu tekan tombol untuk mengirim ulang.');
      button.disabled = false;
      button.textContent = 'Kirim ulang';
      button.onclick = function () { button.disabled = true; send(0); };
      return;
    }
    say(why + ' Mengirim ulang dalam ' + (attempt + 1) * 3 + ' detik…');
    setTimeout(function () { send(attempt + 1); }, (attempt + 1) * 3000);
  }

  button.onclick = start;
})();
