// sluice live dashboard: polls /api/state (same origin, the session cookie) and renders it.
// No build step; Chart.js comes from Debian's libjs-chart.js, served by sluiced as /chart.js.
'use strict';

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
let throughputChart = null;
let classesChart = null;

function setFigure(id, value) {
  const el = document.getElementById(id);
  el.dataset.value = String(value);
  el.textContent = fmt.format(value);
}

function cell(row, text, cls) {
  const td = document.createElement('td');
  td.textContent = text === undefined || text === null ? '' : String(text);
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function fillTable(id, rows, render) {
  const body = document.querySelector('#' + id + ' tbody');
  body.replaceChildren();
  for (const r of rows) {
    const tr = document.createElement('tr');
    render(tr, r);
    body.appendChild(tr);
  }
}

function short(s) { return s ? String(s).slice(0, 12) : ''; }

function charts(state) {
  if (typeof Chart === 'undefined') return;  // the tables still work without the library
  const h = state.history || [];
  const labels = h.map(p => new Date(p.t * 1000).toLocaleTimeString());
  if (!throughputChart) {
    throughputChart = new Chart(document.getElementById('chart-throughput'), {
      type: 'line',
      data: { labels, datasets: [
        { label: 'packets/s', data: [], borderColor: '#1f6feb', pointRadius: 0 },
        { label: 'drops/s', data: [], borderColor: '#b3261e', pointRadius: 0 },
        { label: 'alerts/s', data: [], borderColor: '#a15c00', pointRadius: 0 }] },
      options: { animation: false, aspectRatio: 3, scales: { y: { beginAtZero: true } } },
    });
    classesChart = new Chart(document.getElementById('chart-classes'), {
      type: 'bar', data: { labels: [], datasets: [{ label: 'alerts', data: [], backgroundColor: '#1f6feb' }] },
      options: { animation: false, aspectRatio: 1.5, indexAxis: 'y' },
    });
  }
  throughputChart.data.labels = labels;
  throughputChart.data.datasets[0].data = h.map(p => p.pps);
  throughputChart.data.datasets[1].data = h.map(p => p.drops_ps);
  throughputChart.data.datasets[2].data = h.map(p => p.alerts_ps);
  throughputChart.update();
  const classes = Object.entries(state.alerts_by_class || {}).sort((a, b) => b[1] - a[1]);
  classesChart.data.labels = classes.map(c => c[0]);
  classesChart.data.datasets[0].data = classes.map(c => c[1]);
  classesChart.update();
}

function render(state) {
  const f = state.fleet || {};
  setFigure('fleet-pps', f.pps || 0);
  setFigure('fleet-mbps', (f.bps || 0) / 1e6);
  setFigure('fleet-drops-ps', f.drops_ps || 0);
  setFigure('fleet-packets', f.packets || 0);
  setFigure('fleet-dropped', f.dropped || 0);
  setFigure('fleet-alerts', f.alerts || 0);
  setFigure('fleet-enforced', f.enforced || 0);
  setFigure('fleet-flagged', f.flagged || 0);
  const fs = document.getElementById('fleet-state');
  fs.textContent = `${f.up || 0}/${f.dataplanes || 0} dataplanes up, ${f.in_sync || 0} in sync`;
  fs.dataset.up = String(f.up || 0);
  const v = state.versions || {};
  const vr = document.getElementById('versions');
  const rules = v.rules ? `rules v${v.rules.version} (${short(v.rules.sha256)})` : 'rules: each dataplane\'s own';
  const policy = v.policy ? `policy v${v.policy.version}` : 'policy: each dataplane\'s own';
  vr.textContent = `${rules}, ${policy}`;
  vr.dataset.rules = v.rules ? String(v.rules.version) : '0';
  vr.dataset.policy = v.policy ? String(v.policy.version) : '0';
  document.getElementById('updated').textContent =
    'updated ' + new Date((state.updated_unix || 0) * 1000).toLocaleTimeString();
  fillTable('dataplanes', state.dataplanes || [], (tr, p) => {
    tr.dataset.name = p.name;
    cell(tr, p.name);
    cell(tr, p.up ? 'up' : 'down', p.up ? '' : 'down');
    cell(tr, p.in_sync ? 'yes' : 'no', p.in_sync ? '' : 'down');
    cell(tr, fmt.format(p.pps || 0));
    cell(tr, fmt.format((p.bps || 0) / 1e6));
    cell(tr, fmt.format(p.drops_ps || 0));
    cell(tr, p.packets).dataset.value = String(p.packets || 0);
    cell(tr, p.alerts);
    cell(tr, short(p.rules_sha256));
    cell(tr, short(p.policy_sha256));
  });
  fillTable('accounts', state.accounts || [], (tr, x) => {
    const a = x.account || {};
    tr.dataset.id = a.id;
    cell(tr, short(a.id));
    cell(tr, a.hint);
    cell(tr, a.action, a.action);
    cell(tr, a.score === undefined ? '' : Number(a.score).toFixed(2));
    cell(tr, a.cluster && typeof a.cluster === 'object' ? `${a.cluster.id} (${a.cluster.size})` : a.cluster);
    cell(tr, (a.reasons || []).join(', '));
    cell(tr, x.dataplane);
  });
  fillTable('clusters', state.clusters || [], (tr, c) => {
    tr.dataset.id = String(c.id);
    cell(tr, c.id);
    cell(tr, c.size);
    cell(tr, c.requests);
    cell(tr, c.action, c.action);
    cell(tr, c.flagged_members);
    cell(tr, c.dataplane);
  });
  fillTable('decisions', state.decisions || [], (tr, d) => {
    cell(tr, d.source === 'policy' ? `policy on ${d.dataplane}` : 'operator');
    cell(tr, d.subject);
    cell(tr, d.kind);
    const action = d.action || (d.list === 'allow' ? 'allow' : 'block');
    cell(tr, action, action);
    cell(tr, d.reason || (d.reasons || []).join(', '));
    cell(tr, d.added_unix ? new Date(d.added_unix * 1000).toLocaleTimeString() : '');
  });
  charts(state);
  document.body.dataset.updated = String(state.updated_unix || 0);
}

async function poll() {
  try {
    const r = await fetch('/api/state', { credentials: 'same-origin', cache: 'no-store' });
    if (r.status === 401) { window.location = '/login'; return; }
    if (r.ok) render(await r.json());
  } catch (e) {
    document.getElementById('fleet-state').textContent = 'sluiced unreachable';
  }
  setTimeout(poll, 1000);
}

poll();
