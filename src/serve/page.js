// serve/page.js — behaviour of the genreid demo page. Sends the file to POST /api/predict
// (multipart field "file"), shows the answer as text, bars and a timeline, and the spectrogram
// (the image itself, or POST /api/spectrogram for audio). All text from the server goes in through
// textContent, never as HTML. Leaves out: retries, progress of the upload.
'use strict';

const $ = (id) => document.getElementById(id);
const AUDIO_EXT = /\.(mp3|wav|wave|ogg|oga|flac|m4a|aac|opus)$/i;
let classes = [];          // class order from /api/model, for bar and legend colours
let spectroUrl = null;     // object URL shown in the <img>, revoked when replaced
let busy = false;

function pct(p) { return (100 * p).toFixed(1) + '%'; }
function mmss(s) { s = Math.max(0, Math.round(s)); return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0'); }
function colourIndex(name) { const i = classes.indexOf(name); return (i < 0 ? 0 : i) % 4; }
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function setStatus(text) { $('status').textContent = text; }
function showError(text) { const e = $('error'); e.textContent = text; e.hidden = !text; }

function setSpectrogram(blob, caption) {
  if (spectroUrl) URL.revokeObjectURL(spectroUrl);
  spectroUrl = blob ? URL.createObjectURL(blob) : null;
  $('spectro').src = spectroUrl || '';
  $('spectro').alt = caption ? 'Spectrogram: ' + caption : '';
  $('spectro-cap').textContent = caption || '';
  $('spectro-box').hidden = !blob;
}

// Order of classes: the model's, then any other the answer names.
function orderedClasses(probs) {
  const names = classes.filter((c) => c in probs);
  for (const k of Object.keys(probs)) if (!names.includes(k)) names.push(k);
  return names;
}

function renderBars(probs) {
  const ul = $('bars');
  ul.replaceChildren();
  for (const name of orderedClasses(probs)) {
    const p = Number(probs[name]) || 0;
    const li = el('li');
    li.dataset.class = name;
    li.dataset.p = String(p);
    const track = el('span', 'track');
    const fill = el('span', 'fill c' + colourIndex(name));
    fill.style.width = (100 * Math.min(1, Math.max(0, p))) + '%';
    track.appendChild(fill);
    track.setAttribute('aria-hidden', 'true');
    li.append(el('span', 'name', name), track, el('span', 'pct', pct(p)));
    ul.appendChild(li);
  }
}

function renderTimeline(windows) {
  const box = $('timeline-box');
  const ol = $('timeline');
  ol.replaceChildren();
  $('legend').replaceChildren();
  if (!Array.isArray(windows) || windows.length === 0) { box.hidden = true; return; }
  const names = orderedClasses(windows[0].probabilities || {});
  for (const name of names) {
    const li = el('li');
    li.append(el('span', 'c' + colourIndex(name)), document.createTextNode(name));
    $('legend').appendChild(li);
  }
  for (const w of windows) {
    const start = Number(w.start_s) || 0, dur = Number(w.duration_s) || 0;
    const probs = w.probabilities || {};
    const li = el('li');
    li.dataset.label = w.label || '';
    li.title = mmss(start) + '–' + mmss(start + dur) + ': ' + (w.label || '');
    li.setAttribute('aria-label', mmss(start) + ' to ' + mmss(start + dur) + ': ' + (w.label || '') +
      ' (' + names.map((n) => n + ' ' + pct(Number(probs[n]) || 0)).join(', ') + ')');
    const stack = el('span', 'stack');
    for (const name of names) {
      const seg = el('span', 'seg c' + colourIndex(name));
      seg.style.height = (100 * (Number(probs[name]) || 0)) + '%';
      stack.appendChild(seg);
    }
    li.append(stack, el('span', 't', mmss(start)));
    ol.appendChild(li);
  }
  box.hidden = false;
}

async function errorText(resp) {
  try { const j = await resp.json(); if (j && j.error) return j.error; } catch (e) { /* not JSON */ }
  return 'HTTP ' + resp.status;
}

async function post(path, blob, name) {
  const fd = new FormData();
  fd.append('file', blob, name);
  return fetch(path, { method: 'POST', body: fd });
}

async function analyse(blob, name) {
  if (busy) return;
  busy = true;
  showError('');
  $('result').hidden = true;
  setSpectrogram(null);
  setStatus('Analysing ' + name + '…');
  const isAudio = (blob.type || '').startsWith('audio/') || AUDIO_EXT.test(name);
  try {
    const resp = await post('/api/predict', blob, name);
    if (!resp.ok) throw new Error(await errorText(resp));
    const r = await resp.json();
    $('result-label').textContent = r.label;
    $('result-uncertain').hidden = !r.uncertain;
    renderBars(r.probabilities || {});
    renderTimeline(r.windows);
    $('timing').textContent = typeof r.timing_ms === 'number'
      ? 'Answered in ' + r.timing_ms.toFixed(1) + ' ms by the server.' : '';
    $('result').hidden = false;
    const p = r.probabilities && r.label in r.probabilities ? ' (' + pct(r.probabilities[r.label]) + ')' : '';
    setStatus(name + ': ' + r.label + p + (r.uncertain ? ', uncertain' : '') + '.');
    // on a phone the result is below the picker: bring it into view
    if (window.innerWidth < 900) $('result-h').scrollIntoView({ block: 'start', behavior: 'smooth' });
    if (isAudio) {
      const s = await post('/api/spectrogram', blob, name);
      if (s.ok) setSpectrogram(await s.blob(), 'spectrogram of ' + name);
      else showError('No spectrogram: ' + await errorText(s));
    } else {
      setSpectrogram(blob, name);
    }
  } catch (e) {
    setStatus('Could not analyse ' + name + '.');
    showError(e.message || String(e));
  } finally {
    busy = false;
  }
}

async function loadModel() {
  try {
    const resp = await fetch('/api/model');
    if (!resp.ok) throw new Error(await errorText(resp));
    const m = await resp.json();
    classes = Array.isArray(m.classes) ? m.classes.map(String) : [];
    $('model-name').textContent = m.name || '(unnamed)';
    $('model-classes').textContent = classes.join(', ');
    $('model-card').textContent = m.card || '';
  } catch (e) {
    $('model-name').textContent = 'unavailable (' + (e.message || e) + ')';
  }
}

async function loadExamples() {
  try {
    const resp = await fetch('/api/examples');
    if (!resp.ok) return;
    const list = await resp.json();
    const ul = $('examples');
    ul.replaceChildren();
    for (const ex of list) {
      const b = el('button', null, ex.name);
      b.type = 'button';
      b.dataset.name = ex.name;
      b.setAttribute('aria-label', 'Try example ' + ex.name + ' (' + ex.kind + ')');
      b.addEventListener('click', async () => {
        setStatus('Loading example ' + ex.name + '…');
        const r = await fetch('/api/examples/' + encodeURIComponent(ex.name));
        if (!r.ok) { showError('Example ' + ex.name + ': ' + await errorText(r)); return; }
        const blob = await r.blob();
        analyse(new Blob([blob], { type: ex.content_type }), ex.name);
      });
      const li = el('li');
      li.appendChild(b);
      ul.appendChild(li);
    }
    $('examples-box').hidden = list.length === 0;
  } catch (e) { /* examples are optional */ }
}

function setupInput() {
  const input = $('file');
  input.addEventListener('change', () => {
    if (input.files && input.files[0]) analyse(input.files[0], input.files[0].name);
    input.value = '';
  });
  const drop = $('drop');
  for (const ev of ['dragenter', 'dragover'])
    drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add('over'); });
  for (const ev of ['dragleave', 'drop'])
    drop.addEventListener(ev, () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    const f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (f) analyse(f, f.name);
  });
}

setupInput();
loadModel().then(loadExamples);
