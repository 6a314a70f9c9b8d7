/* Requirement documents: photos are shrunk on the phone (longest side <= 1280 px,
   JPEG) before upload, the size being sent is shown, and a dropped line is
   retried with the same idempotency key, so a retry never stores twice.
   ES5 only. Without this script the whole form is posted: each "Unggah" button sends the
   typed answers together with the chosen file, so nothing typed is lost. */
(function () {
  if (!window.FormData || !window.XMLHttpRequest || !HTMLCanvasElement.prototype.toBlob || !window.URL) {
    return;
  }
  var RETRIES = 4;
  var forms = document.querySelectorAll('.upload[data-action]');
  for (var i = 0; i < forms.length; i++) { wire(forms[i]); }
  var note = document.getElementById('catatan-ukuran');  // true only now that this script runs
  if (note) {
    note.textContent = 'Foto diperkecil di ponsel Anda sebelum dikirim. Setiap dokumen dikirim sendiri begitu ' +
      'dipilih: bila sinyal putus, hanya dokumen itu yang dikirim ulang.';
  }

  function owner(el) {
    while (el && el.nodeName !== 'FORM') { el = el.parentNode; }
    return el;
  }

  function wire(form) {
    var input = form.querySelector('input[type=file]');
    var status = form.querySelector('.upload-status');
    var button = form.querySelector('button');
    var whole = owner(form);
    button.hidden = true;
    // the file goes on its own, as soon as it is chosen: the form's other posts (autosave, the
    // buttons) carry the typed answers only
    input.removeAttribute('name');
    if (whole) { whole.removeAttribute('enctype'); }
    input.addEventListener('change', function (event) {
      if (event.stopPropagation) { event.stopPropagation(); }  // not an answer to autosave
      var file = input.files && input.files[0];
      if (!file) { return; }
      if (/^image\/(jpeg|png|webp)$/.test(file.type)) {
        shrink(file, parseInt(input.getAttribute('data-shrink'), 10) || 1280, function (blob) {
          send(form, status, blob, file.name.replace(/\.[^.]*$/, '') + '.jpg', 0);
        });
      } else {
        send(form, status, file, file.name, 0);
      }
    });
  }

  function shrink(file, max, done) {
    var url = URL.createObjectURL(file);
    var img = new Image();
    img.onload = function () {
      var scale = Math.min(1, max / Math.max(img.naturalWidth, img.naturalHeight));
      var canvas = document.createElement('canvas');
      canvas.width = Math.round(img.naturalWidth * scale);
      canvas.height = Math.round(img.naturalHeight * scale);
      canvas.getContext('2d').drawImage(img, 0, 0, canvas.width, canvas.height);
      URL.revokeObjectURL(url);
      canvas.toBlob(function (blob) { done(blob || file); }, 'image/jpeg', 0.8);
    };
    img.onerror = function () { URL.revokeObjectURL(url); done(file); };
    img.src = url;
  }

  function send(form, status, blob, name, attempt) {
    // the typed answers go with the file (file inputs have no name now): one still waiting for its
    // autosave is not lost when the page reloads to list the file
    var whole = owner(form);
    var data = whole ? new FormData(whole) : new FormData();
    data.append('berkas', blob, name);
    var kb = Math.max(1, Math.round(blob.size / 1024));
    status.textContent = 'Mengirim ' + kb + ' KB…';
    var xhr = new XMLHttpRequest();
    xhr.open('POST', form.getAttribute('data-action'));
    xhr.setRequestHeader('X-Unggah', '1');  // answer 204 + where to go, not a page to throw away
    if (xhr.upload) {
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) { status.textContent = 'Mengirim ' + kb + ' KB… ' + Math.round(100 * e.loaded / e.total) + '%'; }
      };
    }
    xhr.onload = function () {
      if (xhr.status === 204 && xhr.getResponseHeader('X-Lanjut')) {
        next(xhr.getResponseHeader('X-Lanjut'));
      } else if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL) {
        window.location.href = xhr.responseURL;  // led elsewhere, e.g. to log in again
      } else if (xhr.status >= 400 && xhr.status < 500) {
        status.textContent = errorIn(xhr.responseText, form.id) || 'Berkas ditolak. Coba berkas lain.';
      } else {
        retry(form, status, blob, name, attempt);
      }
    };
    xhr.onerror = function () { retry(form, status, blob, name, attempt); };
    xhr.send(data);
  }

  // Show the form again (now listing the file). Only a changed #part would not reload it.
  function next(url) {
    if (url.split('#')[0] === window.location.pathname + window.location.search) {
      window.location.hash = url.split('#')[1] || '';
      window.location.reload();
    } else {
      window.location.replace(url);
    }
  }

  function errorIn(html, id) {
    var found = new DOMParser().parseFromString(html, 'text/html').querySelector('#' + id + ' .error-msg');
    return found && found.textContent;
  }

  function retry(form, status, blob, name, attempt) {
    if (attempt + 1 >= RETRIES) {
      status.textContent = 'Belum terkirim: sinyal terputus. Pilih berkas lagi untuk mencoba ulang.';
      return;
    }
    status.textContent = 'Sinyal terputus, mengirim ulang dalam ' + (attempt + 1) * 3 + ' detik…';
    setTimeout(function () { send(form, status, blob, name, attempt + 1); }, (attempt + 1) * 3000);
  }
})();
