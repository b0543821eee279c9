// Hoard web UI. Plain JavaScript, no libraries: the page is served from the
// binary and must work with no network beyond the daemon. Data comes from
// the admin API (/api/v1/fs/...) and the UI's own read-only endpoints
// (/api/v1/ui/...). Everything from the server is put in the page with
// textContent, never as HTML.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs = {}, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  };

  // ---- API -------------------------------------------------------------

  // The bearer token, when the daemon wants one; kept for this tab only.
  let token = sessionStorage.getItem('hoard.token') || '';

  async function request(path) {
    const headers = token ? { Authorization: 'Bearer ' + token } : {};
    const r = await fetch(path, { headers, cache: 'no-store' });
    if (r.status === 401) {
      showLogin();
      throw new Error('the daemon wants its bearer token (hoard.web.token)');
    }
    return r;
  }

  async function getJSON(path) {
    const r = await request(path);
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  }

  // getLines reads a JSON-lines answer (the admin API's ls); a last line
  // with an error is the stream's failure.
  async function getLines(path) {
    const r = await request(path);
    const text = await r.text();
    if (!r.ok) {
      let msg = r.statusText;
      try { msg = JSON.parse(text).error || msg; } catch (e) { /* not JSON */ }
      throw new Error(msg);
    }
    const lines = text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
    const last = lines[lines.length - 1];
    if (last && last.error !== undefined && last.code !== undefined && last.path === undefined) {
      throw new Error(last.error);
    }
    return lines;
  }

  function showError(err) {
    const box = $('error');
    if (!err) { box.hidden = true; return; }
    box.textContent = String(err.message || err);
    box.hidden = false;
  }

  function showLogin() {
    $('login').hidden = false;
    for (const v of document.querySelectorAll('.view')) v.hidden = true;
  }

  $('login').addEventListener('submit', (ev) => {
    ev.preventDefault();
    token = $('token').value.trim();
    sessionStorage.setItem('hoard.token', token);
    $('login').hidden = true;
    route();
  });

  // ---- Formatting --------------------------------------------------------

  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  function bytes(n) {
    if (n === undefined || n === null) return '–';
    let i = 0;
    let v = n;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)) + ' ' + units[i];
  }
  const rate = (n) => bytes(Math.round(n)) + '/s';
  function duration(ms) {
    if (ms === undefined || ms === null) return '–';
    let s = Math.floor(ms / 1000);
    if (s < 60) return s + 's';
    const d = Math.floor(s / 86400); s %= 86400;
    const h = Math.floor(s / 3600); s %= 3600;
    const m = Math.floor(s / 60); s %= 60;
    if (d > 0) return d + 'd ' + h + 'h';
    if (h > 0) return h + 'h ' + m + 'm';
    return m + 'm ' + s + 's';
  }
  const pad = (n) => String(n).padStart(2, '0');
  function date(ns) {
    if (!ns) return '–';
    const d = new Date(ns / 1e6);
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }
  const setText = (id, v) => { $(id).textContent = v; };

  // ---- Views and polling -------------------------------------------------

  const timers = [];
  function every(ms, fn) {
    fn();
    timers.push(setInterval(fn, ms));
  }
  function stopTimers() { while (timers.length) clearInterval(timers.pop()); }

  // route shows the view the location's hash names: #/overview,
  // #/files/<path>, #/mounts, #/queue.
  function route() {
    stopTimers();
    showError(null);
    const hash = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
    const slash = hash.indexOf('/');
    const view = (slash < 0 ? hash : hash.slice(0, slash)) || 'overview';
    const rest = slash < 0 ? '' : hash.slice(slash + 1);
    const known = ['overview', 'files', 'mounts', 'queue'];
    const name = known.includes(view) ? view : 'overview';
    for (const v of known) $('view-' + v).hidden = v !== name;
    for (const a of document.querySelectorAll('header nav a[data-view]')) {
      a.classList.toggle('active', a.dataset.view === name);
    }
    if (!$('login').hidden && token === '') return;
    $('login').hidden = true;
    if (name === 'overview') showOverview();
    if (name === 'files') showFiles('/' + rest.replace(/^\/+/, ''));
    if (name === 'mounts') showMounts();
    if (name === 'queue') every(3000, () => showQueue().catch(showError));
    document.body.dataset.view = name;
  }

  window.addEventListener('hashchange', route);

  async function health() {
    const s = $('status');
    try {
      const r = await fetch('/api/v1/health', { cache: 'no-store' });
      s.textContent = r.ok ? 'up' : 'starting';
      s.className = 'status ' + (r.ok ? 'ok' : '');
    } catch (e) {
      s.textContent = 'unreachable';
      s.className = 'status bad';
    }
  }

  // ---- Overview ------------------------------------------------------------

  function showOverview() {
    every(3000, () => refreshOverview().then(() => showError(null)).catch(showError));
    every(1000, () => refreshGraphs().catch(showError));
  }

  async function refreshOverview() {
    const [ov, rep] = await Promise.all([getJSON('/api/v1/ui/overview'), getJSON('/api/v1/fs/report')]);
    setText('ov-version', ov.version || '–');
    setText('ov-uptime', duration(ov.uptimeSeconds * 1000));
    setText('ov-go', ov.goVersion);
    setText('ov-config', ov.config || 'defaults');
    setText('ov-fuse', ov.fuseMount || 'off');
    setText('ov-s3', ov.s3Address ? 'http://' + ov.s3Address : 'off');
    setText('ov-ufs', ov.rootUfs || '–');
    const c = rep.cache;
    setText('ov-capacity', bytes(c.capacity));
    setText('ov-used', bytes(c.used));
    setText('ov-dirty', bytes(c.dirty));
    setText('ov-pinned', bytes(c.pinned));
    setText('ov-clean', bytes(c.clean));
    setText('ov-evicted', bytes(c.evictedBytes) + ' (' + c.evictions + ' blocks)');
    const bar = $('ov-cache-bar');
    bar.querySelector('.clean').style.width = (c.capacity ? 100 * c.clean / c.capacity : 0) + '%';
    bar.querySelector('.pinned').style.width = (c.capacity ? 100 * c.unevictable / c.capacity : 0) + '%';
    bar.title = bytes(c.used) + ' used of ' + bytes(c.capacity);
    const q = rep.queue;
    setText('ov-queue-depth', String(q.depth));
    setText('ov-queue-age', q.depth ? duration(q.oldestAgeMs) : '–');
    setText('ov-queue-failing', String(q.failing));
    const mounts = rep.mounts || [];
    setText('ov-mounts', mounts.length + (mounts.length === 1 ? ' (the root)' : ' (root and nested)'));
    $('graphs-off').hidden = ov.metrics;
  }

  // ---- Graphs --------------------------------------------------------------

  const keep = 300; // points on a graph: five minutes at one per second
  let rates = [];
  let lastT = 0;

  async function refreshGraphs() {
    const tp = await getJSON('/api/v1/ui/throughput?since=' + lastT);
    if (!tp.enabled) return;
    rates = rates.concat(tp.rates).slice(-keep);
    if (rates.length) lastT = rates[rates.length - 1].t;
    drawAll();
  }

  function drawAll() {
    if ($('view-overview').hidden) return;
    draw($('g-fuse'), [
      { label: 'read', color: '#2f6fdf', values: rates.map((r) => r.fuseRead) },
      { label: 'write', color: '#7a4fd6', values: rates.map((r) => r.fuseWritten) },
    ], rate);
    draw($('g-s3'), [
      { label: 'GET', color: '#d9730d', values: rates.map((r) => r.s3Read) },
      { label: 'PUT', color: '#b5472b', values: rates.map((r) => r.s3Written) },
    ], rate);
    draw($('g-hit'), [
      { label: 'hits', color: '#2e9e5b', values: rates.map((r) => (r.hitRatio < 0 ? null : 100 * r.hitRatio)) },
    ], (v) => Math.round(v) + '%', () => 100);
    draw($('g-ufs'), [
      { label: 'read', color: '#0f8b8d', values: rates.map((r) => r.ufsRead) },
      { label: 'written', color: '#8d5a0f', values: rates.map((r) => r.ufsWritten) },
    ], rate);
  }

  window.addEventListener('resize', drawAll);

  // draw plots series on a canvas sized to its box, at the screen's pixel
  // density: a grid, the y scale, one line per series (null is a gap) and
  // a legend with the latest values.
  function draw(canvas, series, fmt, scale = byteScale) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    if (w === 0 || h === 0) return;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    const g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    g.font = '11px system-ui, sans-serif';

    let max = 0;
    for (const s of series) for (const v of s.values) if (v !== null && v > max) max = v;
    max = scale(max);
    let left = 0;
    for (let i = 0; i <= 4; i++) left = Math.max(left, g.measureText(fmt((max * i) / 4)).width);
    left = Math.ceil(left) + 12;
    const top = 20;
    const right = 8;
    const bottom = 8;
    const pw = w - left - right;
    const ph = h - top - bottom;

    g.strokeStyle = '#e3e6eb';
    g.fillStyle = '#667085';
    g.lineWidth = 1;
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    for (let i = 0; i <= 4; i++) {
      const y = top + ph - (ph * i) / 4;
      g.beginPath();
      g.moveTo(left, Math.round(y) + 0.5);
      g.lineTo(left + pw, Math.round(y) + 0.5);
      g.stroke();
      g.fillText(fmt((max * i) / 4), left - 6, y);
    }

    const n = keep;
    const x = (i, len) => left + pw - ((len - 1 - i) * pw) / (n - 1);
    g.lineWidth = 1.6;
    for (const s of series) {
      g.strokeStyle = s.color;
      g.beginPath();
      let pen = false;
      s.values.forEach((v, i) => {
        if (v === null || v === undefined) { pen = false; return; }
        const px = x(i, s.values.length);
        const py = top + ph - (max > 0 ? (Math.min(v, max) / max) * ph : 0);
        if (pen) g.lineTo(px, py); else g.moveTo(px, py);
        pen = true;
      });
      g.stroke();
    }

    g.textAlign = 'left';
    g.textBaseline = 'alphabetic';
    let lx = left;
    for (const s of series) {
      const last = s.values.length ? s.values[s.values.length - 1] : null;
      const text = s.label + ' ' + (last === null ? '–' : fmt(last));
      g.fillStyle = s.color;
      g.fillRect(lx, 6, 10, 10);
      g.fillStyle = '#1d2330';
      g.fillText(text, lx + 14, 15);
      lx += g.measureText(text).width + 30;
    }
  }

  // byteScale is the top of a byte-rate graph: at least 1 KiB/s, else the
  // maximum rounded up to 1, 2 or 5 times a power of ten of its unit (KiB,
  // MiB, ...), so that the grid lines fall on readable numbers.
  function byteScale(v) {
    if (v <= 1024) return 1024;
    const unit = Math.pow(1024, Math.floor(Math.log(v) / Math.log(1024)));
    const x = v / unit;
    const p = Math.pow(10, Math.floor(Math.log10(x)));
    for (const m of [1, 2, 5, 10]) if (x <= m * p) return m * p * unit;
    return 10 * p * unit;
  }

  // ---- Files -----------------------------------------------------------------

  const pageSize = 500;

  function crumbs(path) {
    const nav = $('crumbs');
    nav.replaceChildren();
    nav.append(el('a', { href: '#/files/', text: '/' }));
    const parts = path.split('/').filter(Boolean);
    let acc = '';
    parts.forEach((p, i) => {
      acc += '/' + p;
      if (i > 0) nav.append(el('span', { text: '/' }));
      nav.append(el('a', { href: '#/files' + encodePath(acc), text: p }));
    });
  }

  const encodePath = (p) => p.split('/').map(encodeURIComponent).join('/');
  const baseName = (p) => p.slice(p.lastIndexOf('/') + 1);

  async function showFiles(path, after) {
    if (!after) {
      crumbs(path);
      $('files-body').replaceChildren();
    }
    try {
      let url = '/api/v1/fs/ls?path=' + encodeURIComponent(path) + '&limit=' + pageSize;
      if (after) url += '&after=' + encodeURIComponent(after);
      const entries = await getLines(url);
      const body = $('files-body');
      if (!after && path !== '/') {
        const up = path.slice(0, path.lastIndexOf('/')) || '/';
        body.append(el('tr', { class: 'dir' },
          el('td', { colspan: '7' }, el('a', { href: '#/files' + encodePath(up), text: '..' }))));
      }
      for (const e of entries) body.append(fileRow(e));
      $('files-empty').hidden = after || entries.length > 0;
      const more = $('files-more');
      more.hidden = entries.length < pageSize;
      more.onclick = () => showFiles(path, baseName(entries[entries.length - 1].path));
      showError(null);
    } catch (err) {
      showError(err);
    }
  }

  function fileRow(e) {
    const name = baseName(e.path) || '/';
    const isDir = e.type === 'dir';
    const nameCell = el('td', { class: 'path' });
    if (isDir) {
      nameCell.append(el('a', { href: '#/files' + encodePath(e.path), text: name + '/' }));
    } else {
      nameCell.textContent = e.type === 'symlink' ? name + ' → ' + (e.target || '') : name;
    }
    const tr = el('tr', { class: isDir ? 'dir' : 'file', 'data-path': e.path },
      nameCell,
      el('td', { class: 'num', text: isDir ? '' : bytes(e.size) }),
      el('td', { class: 'wide', text: e.owner + ':' + e.group }),
      el('td', {}, el('span', { class: 'state ' + e.persistenceState, text: e.persistenceState })),
      el('td', { class: 'num', text: isDir ? '' : e.cachedPercent + '%' }),
      el('td', { class: 'wide', text: date(e.mtimeNs) }),
      el('td', {}, isDir || e.type !== 'file' ? '' : downloadLink(e.path, name)));
    return tr;
  }

  // downloadLink points at the admin API's cat. With a token, the link
  // cannot carry the header, so the click fetches the file itself.
  function downloadLink(path, name) {
    const href = '/api/v1/fs/cat?path=' + encodeURIComponent(path);
    const a = el('a', { href, download: name, text: 'download' });
    a.addEventListener('click', async (ev) => {
      if (!token) return;
      ev.preventDefault();
      try {
        const r = await request(href);
        if (!r.ok) throw new Error((await r.json()).error || r.statusText);
        const url = URL.createObjectURL(await r.blob());
        const tmp = el('a', { href: url, download: name });
        document.body.append(tmp);
        tmp.click();
        tmp.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60000);
      } catch (err) {
        showError(err);
      }
    });
    return a;
  }

  // ---- Mounts ----------------------------------------------------------------

  async function showMounts() {
    try {
      const mounts = await getJSON('/api/v1/fs/mounts');
      const body = $('mounts-body');
      body.replaceChildren();
      for (const m of mounts || []) {
        const opts = Object.entries(m.options || {}).map(([k, v]) => k + '=' + v).join(' ');
        body.append(el('tr', {},
          el('td', { class: 'path' }, el('a', { href: '#/files' + encodePath(m.path), text: m.path })),
          el('td', { class: 'path', text: m.uri }),
          el('td', { class: 'path', text: opts || '–' }),
          el('td', { text: m.writeType }),
          el('td', { text: m.readType }),
          el('td', { text: m.readOnly ? 'yes' : 'no' }),
          el('td', { class: 'num', text: String(m.pending) })));
      }
      showError(null);
    } catch (err) {
      showError(err);
    }
  }

  // ---- Persist queue -----------------------------------------------------------

  async function showQueue() {
    const q = await getJSON('/api/v1/ui/queue');
    let summary = q.depth + (q.depth === 1 ? ' task' : ' tasks') + ' queued';
    if (q.depth) summary += ', the oldest ' + duration(q.oldestAgeMs) + ' old';
    summary += '; ' + q.failing + ' failing and waiting for a retry.';
    if (q.shown < q.depth) summary += ' Showing ' + q.shown + '.';
    setText('queue-summary', summary);
    const body = $('queue-body');
    body.replaceChildren();
    for (const t of q.tasks) {
      const where = (t.kind === 'delete' ? t.mount + ' ' + t.key : t.path || t.key || '');
      body.append(el('tr', { class: t.attempts > 0 ? 'failing' : '' },
        el('td', { class: 'num', text: String(t.seq) }),
        el('td', { text: t.kind }),
        el('td', { class: 'path', text: where }),
        el('td', { class: 'num', text: String(t.attempts) }),
        el('td', { text: duration(t.ageMs) }),
        el('td', { text: t.nextInMs > 0 ? 'in ' + duration(t.nextInMs) : 'now' }),
        el('td', { class: 'err', text: t.lastError || '' })));
    }
    $('queue-empty').hidden = q.depth > 0;
    showError(null);
  }

  // ---- Start -----------------------------------------------------------------

  health();
  setInterval(health, 5000);
  route();
})();
