// tests/serve/browser/e2e.js — end-to-end test of the genreid page in a real headless Chromium
// (Debian's /usr/bin/chromium driven by playwright-core over CDP). Started by
// tests/serve/run-browser-test, which runs a server and passes its URL:
//   node e2e.js --url http://127.0.0.1:PORT/ --image seed-style.png --out DIR [--chromium PATH]
// Checks that what the page shows (label, one bar per class with its percentage and length, the
// timeline for songs, errors) is what the JSON API answers for the same bytes, that the page works
// by keyboard and at phone width, and saves screenshots into DIR for a person to look at.
// Leaves out: drag-and-drop (needs OS-level events) and other browsers.
'use strict';
const { chromium } = require('playwright-core');
const fs = require('fs');
const os = require('os');
const path = require('path');

function arg(name, def) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}
const base = arg('url');
const image = arg('image');
const out = arg('out', '.');
const chromiumPath = arg('chromium', '/usr/bin/chromium');
let passed = 0;
let failed = 0;

function check(cond, what) {
  if (cond) { passed++; console.log('ok   ' + what); } else { failed++; console.log('FAIL ' + what); }
}
const pct = (p) => (100 * p).toFixed(1) + '%';
const api = (p) => new URL(p, base).toString();

// The same request the page makes, from outside the browser: the expected answer.
async function apiPredict(bytes, name, type) {
  const fd = new FormData();
  fd.append('file', new Blob([bytes], { type }), name);
  const r = await fetch(api('/api/predict'), { method: 'POST', body: fd });
  return { status: r.status, json: await r.json() };
}

async function barsOf(page) {
  return page.$$eval('#bars li', (lis) => lis.map((li) => ({
    cls: li.dataset.class,
    p: Number(li.dataset.p),
    text: li.querySelector('.pct').textContent,
    width: li.querySelector('.fill').getBoundingClientRect().width,
    track: li.querySelector('.track').getBoundingClientRect().width,
  })));
}

async function checkBars(page, want, what) {
  const bars = await barsOf(page);
  check(bars.length === Object.keys(want.probabilities).length, `${what}: one bar per class (${bars.length})`);
  for (const b of bars) {
    const p = want.probabilities[b.cls];
    check(Math.abs(b.p - p) < 1e-9 && b.text === pct(p), `${what}: bar ${b.cls} reads ${pct(p)} (got ${b.text})`);
    check(Math.abs(b.width - Math.max(2, p * b.track)) < 2, `${what}: bar ${b.cls} is ${pct(p)} long (${b.width.toFixed(1)} of ${b.track.toFixed(1)} px)`);
  }
}

async function main() {
  if (!base || !image) throw new Error('usage: node e2e.js --url URL --image PNG --out DIR');
  fs.mkdirSync(out, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'genreid-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    const consoleErrors = [];
    page.on('console', (m) => {
      // a 4xx answer that the page handles is logged by Chromium as "Failed to load resource"
      if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text()))
        consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));

    await page.goto(base);
    check(await page.title() === 'genreid — classical or electronic?', 'page title');
    const model = await (await fetch(api('/api/model'))).json();
    await page.waitForFunction((n) => document.getElementById('model-name').textContent === n, model.name, { timeout: 5000 });
    check(await page.textContent('#model-classes') === model.classes.join(', '), 'model classes shown');
    check((await page.textContent('#model-card')) === model.card, 'model card shown');
    const examples = await (await fetch(api('/api/examples'))).json();
    await page.waitForFunction((n) => document.querySelectorAll('#examples button').length === n, examples.length, { timeout: 5000 });
    check(examples.length > 0, `one button per example (${examples.length})`);

    // 1. a seed-style spectrogram image through the file input
    const bytes = fs.readFileSync(image);
    const want = await apiPredict(bytes, path.basename(image), 'image/png');
    check(want.status === 200, `API answers the image (${want.status})`);
    await page.setInputFiles('#file', image);
    await page.waitForSelector('#result:not([hidden])', { timeout: 15000 });
    check(await page.textContent('#result-label') === want.json.label, `label shown = API label (${want.json.label})`);
    await checkBars(page, want.json, 'image');
    check(await page.$eval('#spectro', (img) => img.src.startsWith('blob:') && img.complete && img.naturalWidth > 0),
      'the uploaded image is shown as the spectrogram');
    check(await page.isHidden('#timeline-box'), 'no timeline for an image');
    check((await page.textContent('#status')).includes(want.json.label), 'live region announces the label');
    check(await page.getAttribute('#status', 'aria-live') === 'polite', 'status is aria-live');
    await page.screenshot({ path: path.join(out, 'serve-desktop-image.png'), fullPage: true });

    // 2. an audio example: windows along the song and the server's spectrogram PNG
    const audio = examples.find((e) => e.kind === 'audio');
    check(!!audio, 'an audio example exists');
    if (audio) {
      const abytes = Buffer.from(await (await fetch(api('/api/examples/' + encodeURIComponent(audio.name)))).arrayBuffer());
      const awant = await apiPredict(abytes, audio.name, audio.content_type);
      await page.click(`#examples button[data-name="${audio.name}"]`);
      await page.waitForFunction((n) => document.querySelectorAll('#timeline li').length === n &&
        !document.getElementById('spectro-box').hidden && document.getElementById('spectro').complete,
      awant.json.windows.length, { timeout: 15000 });
      check(await page.textContent('#result-label') === awant.json.label, 'audio example: label = API label');
      await checkBars(page, awant.json, 'audio');
      const labels = await page.$$eval('#timeline li', (lis) => lis.map((li) => li.dataset.label));
      check(JSON.stringify(labels) === JSON.stringify(awant.json.windows.map((w) => w.label)),
        `timeline = API windows (${labels.join(',')})`);
      const fd = new FormData();
      fd.append('file', new Blob([abytes], { type: audio.content_type }), audio.name);
      const png = Buffer.from(await (await fetch(api('/api/spectrogram'), { method: 'POST', body: fd })).arrayBuffer());
      const size = await page.$eval('#spectro', (img) => [img.naturalWidth, img.naturalHeight]);
      check(size[0] === png.readUInt32BE(16) && size[1] === png.readUInt32BE(20),
        `spectrogram shown is the API's PNG (${size[0]}x${size[1]})`);
      await page.screenshot({ path: path.join(out, 'serve-desktop-audio.png'), fullPage: true });
    }

    // 3. a file that is not music: the API's error, in an alert
    const bad = path.join(profile, 'notes.txt');
    fs.writeFileSync(bad, 'not music');
    const badWant = await apiPredict(Buffer.from('not music'), 'notes.txt', 'text/plain');
    check(badWant.status === 415, `API refuses text (${badWant.status})`);
    await page.setInputFiles('#file', bad);
    await page.waitForSelector('#error:not([hidden])', { timeout: 15000 });
    check(await page.textContent('#error') === badWant.json.error, `error shown = API error (${badWant.json.error})`);
    check(await page.getAttribute('#error', 'role') === 'alert', 'error is role=alert');
    check(await page.isHidden('#result'), 'no stale result next to the error');

    // 4. keyboard: skip link, then the file picker, with a visible focus ring
    await page.goto(base);
    await page.keyboard.press('Tab');
    check(await page.evaluate(() => document.activeElement.className) === 'skip', 'Tab 1: skip link');
    await page.keyboard.press('Tab');
    check(await page.evaluate(() => document.activeElement.id) === 'file', 'Tab 2: the file picker');
    check(await page.$eval('label[for=file]', (l) => getComputedStyle(l).outlineStyle) === 'solid', 'the picker shows a focus ring');
    check(await page.evaluate(() => document.getElementById('file').labels.length === 1), 'the picker has a label');
    await page.waitForFunction(() => document.querySelectorAll('#examples button').length > 0);
    await page.keyboard.press('Tab');
    check(await page.evaluate(() => document.activeElement.tagName === 'BUTTON'), 'Tab 3: the first example button');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#result:not([hidden])', { timeout: 15000 });
    check(true, 'Enter on an example runs it');
    await page.screenshot({ path: path.join(out, 'serve-keyboard.png') });

    // 5. phone width: no sideways scrolling, everything still there
    await page.setViewportSize({ width: 375, height: 812 });
    await page.setInputFiles('#file', image);
    await page.waitForFunction((l) => document.getElementById('result-label').textContent === l && !document.getElementById('result').hidden,
      want.json.label, { timeout: 15000 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, `no horizontal scrolling at 375 px (overflow ${overflow})`);
    await page.screenshot({ path: path.join(out, 'serve-phone.png'), fullPage: true });

    check(consoleErrors.length === 0, 'no console errors' + (consoleErrors.length ? ': ' + consoleErrors.join(' | ') : ''));
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((e) => { failed++; console.log('FAIL ' + (e && e.stack ? e.stack : e)); })
  .finally(() => {
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
  });
