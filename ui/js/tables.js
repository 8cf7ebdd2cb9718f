// Tables: top offenders (with the category pie), spikes, jobs and assets,
// span budgets, counters.

// Top offenders -----------------------------------------------------------
function renderTop() {
  const d = S.dash;
  const aggs = (d && Array.isArray(d.aggregates) && d.aggregates.length) ? d.aggregates : (d && d.top_time) || [];
  const cats = new Map();
  for (const a of aggs) cats.set(a.category, true);
  const sel = $('cat-filter');
  const want = [''].concat(Array.from(cats.keys()).sort());
  const have = Array.from(sel.options).map((o) => o.value);
  if (want.join('\u0001') !== have.join('\u0001')) {
    sel.innerHTML = want.map((c) => `<option value="${esc(c)}">${c ? esc(c) : 'all'}</option>`).join('');
  }
  if (S.catFilter && !cats.has(S.catFilter)) S.catFilter = '';
  sel.value = S.catFilter;
  const k = S.sortKey;
  const dir = S.sortAsc ? 1 : -1;
  const rows = aggs.filter((a) => !S.catFilter || a.category === S.catFilter).slice();
  rows.sort((a, b) => {
    const x = a[k], y = b[k];
    if (typeof x === 'string' || typeof y === 'string') return dir * String(x).localeCompare(String(y));
    return dir * ((isNum(x) ? x : -Infinity) - (isNum(y) ? y : -Infinity)) || (b.total_ms - a.total_ms);
  });
  const shown = rows.slice(0, S.rows);
  const maxTotal = Math.max(1e-9, ...shown.map((a) => a.total_ms || 0));
  // Rows keyed by site, (name, category): one row per site shown, at most S.rows.
  syncRows($('top-time').tBodies[0], shown, siteKey, (a) => [
    ['<span class="dot"></span>' + esc(a.name), 'l name'],
    [esc(a.category), 'l'],
    [fint(a.count)],
    ['<span class="barcell"></span>' + fmt(a.total_ms)],
    [covMark(a.coverage) + fmt(a.self_ms)], [fmt(a.avg_ms)], [covMark(a.coverage) + fmt(a.p95_ms)], [fmt(a.max_ms)], [fmt(a.total_kb, 0)],
  ], (tr, a) => {
    if (tr.dataset.name !== a.name) tr.dataset.name = a.name;
    if (tr.dataset.category !== a.category) tr.dataset.category = a.category;
    setStyle(tr.cells[0].firstChild, 'backgroundColor', colorOf(a.name));
    setStyle(tr.cells[3].firstChild, 'width', Math.round(40 * (a.total_ms || 0) / maxTotal) + 'px');
    const cov = coverageText(a.coverage);
    const approx = cov ? '\u2248' : '';
    const title = `${a.name} [${a.category}] min ${fmt(a.min_ms)} ms \u00b7 p50 ${approx}${fmt(a.p50_ms)} \u00b7 p99 ${approx}${fmt(a.p99_ms)} \u00b7 max ${fmt(a.max_kb)} KB` +
        (cov ? ` \u00b7 percentiles and self time ${cov}` : '');
    if (tr.title !== title) tr.title = title;
  });
  for (const th of $('top-time').tHead.rows[0].cells) {
    th.classList.toggle('sorted', th.dataset.k === k);
    th.classList.toggle('asc', th.dataset.k === k && S.sortAsc);
  }
  renderCats(d && d.categories);
}
$('top-time').tHead.addEventListener('click', (e) => {
  const th = e.target.closest('th[data-k]');
  if (!th) return;
  const k = th.dataset.k;
  if (S.sortKey === k) S.sortAsc = !S.sortAsc;
  else { S.sortKey = k; S.sortAsc = k === 'name' || k === 'category'; }
  renderTop();
});
$('cat-filter').addEventListener('change', (e) => { S.catFilter = e.target.value; renderTop(); });
$('top-rows').addEventListener('change', (e) => { S.rows = Number(e.target.value) || 20; renderTop(); });

function renderCats(cats) {
  const list = cats ? Object.keys(cats).map((k) => ({name: k, total: cats[k].total_ms || 0, sites: cats[k].sites, count: cats[k].count})) : [];
  list.sort((a, b) => b.total - a.total);
  const sum = list.reduce((s, c) => s + c.total, 0);
  let svg = '';
  if (sum > 0) {
    let a0 = -Math.PI / 2;
    for (const c of list) {
      const frac = Math.round(c.total / sum * 400) / 400;
      const a1 = a0 + frac * 2 * Math.PI;
      const cls = S.catFilter && S.catFilter !== c.name ? ' class="dim"' : '';
      const title = `<title>${esc(c.name)}: ${(frac * 100).toFixed(1)}%</title>`;
      if (frac > 0.9999) {
        svg += `<path data-cat="${esc(c.name)}"${cls} fill="${catColor(c.name)}" d="M0,-56A56,56 0 1,1 -0.01,-56ZM0,-30A30,30 0 1,0 0.01,-30Z">${title}</path>`;
      } else {
        const large = a1 - a0 > Math.PI ? 1 : 0;
        const p = (r, a) => `${(r * Math.cos(a)).toFixed(2)},${(r * Math.sin(a)).toFixed(2)}`;
        svg += `<path data-cat="${esc(c.name)}"${cls} fill="${catColor(c.name)}" d="M${p(56, a0)}A56,56 0 ${large},1 ${p(56, a1)}L${p(30, a1)}A30,30 0 ${large},0 ${p(30, a0)}Z">${title}</path>`;
      }
      a0 = a1;
    }
    svg += `<text x="0" y="4" text-anchor="middle" fill="#d8dee6" font-size="11">${esc(S.catFilter || 'all')}</text>`;
  } else {
    svg = '<circle r="43" fill="none" stroke="#2a313b" stroke-width="26"></circle>';
  }
  const pie = $('cat-pie');
  if (pie._h !== svg) { pie.innerHTML = svg; pie._h = svg; }
  // The legend's items are rebuilt when the categories change; their numbers in place.
  const ul = $('cat-legend');
  const key = list.map((c) => c.name).join('\u0001') + '\u0002' + S.catFilter;
  if (ul._h !== key) {
    ul.innerHTML = list.map((c) => `<li data-cat="${esc(c.name)}"${S.catFilter === c.name ? ' class="sel"' : ''}><span><span class="dot"></span>${esc(c.name)}</span><b></b></li>`).join('');
    ul._h = key;
    list.forEach((c, i) => setStyle(ul.children[i].querySelector('.dot'), 'backgroundColor', catColor(c.name)));
  }
  list.forEach((c, i) => {
    const b = ul.children[i] && ul.children[i].lastElementChild;
    const t = `${fmt(c.total)} ms \u00b7 ${(sum ? c.total / sum * 100 : 0).toFixed(0)}%`;
    if (b && b.textContent !== t) b.textContent = t;
  });
}
function catClick(e) {
  const el = e.target.closest('[data-cat]');
  if (!el) return;
  const c = el.getAttribute('data-cat');
  S.catFilter = S.catFilter === c ? '' : c;
  renderTop();
}
$('cat-pie').addEventListener('click', catClick);
$('cat-legend').addEventListener('click', catClick);

// Spikes ------------------------------------------------------------------
function renderSpikes() {
  const list = S.spikes || [];
  const fb = frameBudget();
  // A "(gpu frame)" budget with max_ms keeps slow GPU frames the same way
  // (their rows say GPU).
  const gb = (S.spanBudgets || []).find((x) => x.name === '(gpu frame)' && isNum(x.max_ms));
  $('spikes-note').textContent = fb && isNum(fb.max_ms)
    ? `frames over ${fmt(fb.max_ms)} ms keep every thread's spans (newest first); click one to open its trace`
    : gb ? `GPU frames over ${fmt(gb.max_ms)} ms keep every thread's spans (newest first); click one to open its trace`
    : 'set a (frame) budget with max_ms to keep slow frames here';
  syncRows($('spikes').tBodies[0], list, (s) => String(s.id), (s) => [
    [String(s.id) + (s.site === '(gpu frame)' ? ' <span class="muted">GPU</span>' : ''), 'l'], [ago(s.timestamp), 'l'], [fmt(s.frame_ms)], [fmt(s.budget_ms)], [fint(s.spans)],
    ['<span class="muted">open trace \u203a</span>', 'l'],
  ], (tr, s) => {
    if (tr.dataset.spikeId !== String(s.id)) tr.dataset.spikeId = String(s.id);
    tr.classList.toggle('sel', S.selectedSpike === s.id);
  });
}
$('spikes').tBodies[0].addEventListener('click', (e) => {
  const tr = e.target.closest('tr[data-spike-id]');
  if (!tr) return;
  const id = Number(tr.dataset.spikeId);
  S.selectedSpike = id;
  const s = (S.spikes || []).find((x) => x.id === id);
  renderSpikes();
  loadTrace('/profiler/spikes?id=' + id, `spike #${id}` + (s ? ` (frame ${fmt(s.frame_ms)} ms)` : ''), `comfyvn_spike_${id}.json`);
});

// Budgets: jobs, assets ---------------------------------------------------
function renderJobs() {
  const b = S.budgets;
  const box = $('jobs');
  if (!b) return;
  const jobs = Array.isArray(b.jobs) ? b.jobs : [];
  const waiting = jobs.filter((j) => j.status === 'queued' || j.status === 'delayed');
  const running = jobs.filter((j) => j.status === 'running');
  const done = jobs.filter((j) => j.status !== 'queued' && j.status !== 'delayed' && j.status !== 'running')
      .sort((a, b2) => (b2.last_transition || 0) - (a.last_transition || 0)).slice(0, 8);
  const blk = (x) => {
    const r = x.resource || '?';
    const num = (v) => (isNum(v) ? fmt(v, 1) : '\u2013');
    return `<span class="blk" title="${esc(r)}: in use ${num(x.in_use)} + requested ${num(x.requested)} over the limit ${num(x.limit)}${isNum(x.release_below) ? '; admitted again below ' + num(x.release_below) : ''}">${esc(r)} ${num(x.in_use)} + ${num(x.requested)} &gt; ${num(x.limit)}</span>`;
  };
  const row = (j, why) => `<div class="job"><span class="id" title="${esc(j.id)} (${esc(j.type)})">${esc(j.id)}</span><span><span class="badge ${esc(j.status)}">${esc(j.status)}</span></span><span class="why">${why}</span></div>`;
  let html = '<div class="jobs">';
  html += `<h3>Queue <span class="muted">${waiting.length} waiting, in order</span></h3>`;
  html += waiting.length ? waiting.map((j) => row(j,
    (j.reason ? `<b>${esc(j.reason)}</b> ` : '') + (Array.isArray(j.blockers) ? j.blockers.map(blk).join('') : '') +
    (j.infeasible ? ' <span class="badge over">infeasible</span>' : '') +
    ` <span class="muted">waiting ${ago(j.submitted_at).replace(' ago', '')}</span>`)).join('') : '<div class="muted">empty</div>';
  html += `<h3>Running <span class="muted">${running.length}</span></h3>`;
  html += running.length ? running.map((j) => row(j, `${esc(j.type)} \u00b7 since ${ago(j.last_transition)}` + reqText(j))).join('') : '<div class="muted">none</div>';
  html += `<h3>Finished <span class="muted">newest ${done.length}</span></h3>`;
  html += done.length ? done.map((j) => row(j, `${esc(j.type)} \u00b7 ${ago(j.last_transition)}` + (j.reason ? ' \u00b7 ' + esc(j.reason) : ''))).join('') : '<div class="muted">none yet</div>';
  if (isNum(b.jobs_total) && b.jobs_total > jobs.length) html += `<div class="muted">showing ${jobs.length} of ${fint(b.jobs_total)} jobs</div>`;
  html += '</div>';
  if (box._h !== html) { box.innerHTML = html; box._h = html; }
}
function reqText(j) {
  const r = j.requirements;
  if (!r) return '';
  return ` <span class="muted">\u00b7 cpu ${fmt(r.cpu_percent, 1)}% \u00b7 ram ${fint(r.ram_mb)} MB \u00b7 vram ${fint(r.vram_mb)} MB</span>`;
}

function renderAssets() {
  const b = S.budgets;
  if (!b) return;
  const target = b.limits ? b.limits.lazy_asset_target_mb : null;
  const assets = Array.isArray(b.assets) ? b.assets : [];
  const loadedMb = assets.filter((a) => a.loaded).reduce((s, a) => s + (a.size_mb || 0), 0);
  const hb = S.health && S.health.budgets && S.health.budgets.assets;
  const mb = hb && isNum(hb.loaded_mb) ? hb.loaded_mb : loadedMb;
  $('assets-target').textContent = isNum(target) ? (target > 0 ? fint(target) : 'none') : '\u2013';
  const bar = $('assets-bar').firstElementChild;
  const frac = isNum(target) && target > 0 ? mb / target : 0;
  bar.style.width = Math.min(100, frac * 100).toFixed(1) + '%';
  bar.className = frac > 1 ? 'hot' : frac > 0.9 ? 'warm' : '';
  $('assets-bar').title = `${fmt(mb, 1)} MB loaded of a ${isNum(target) ? fint(target) : '\u2013'} MB target`;
  let rank = 0;
  const shown = assets.slice(0, 60);
  syncRows($('assets').tBodies[0], shown, (a) => a.asset_id, (a) => [
    [a.loaded ? String(++rank) : '\u2013', 'l'],
    [esc(a.asset_id), 'l name'],
    [fmt(a.size_mb, 1)],
    [a.pinned ? `<span class="badge running">${fint(a.pinned)}</span>` : '0'],
    [a.loaded ? ago(a.last_used) : '<span class="muted">unloaded</span>'],
  ], (tr, a) => { tr.style.opacity = a.loaded ? '' : '0.5'; });
}

// Span budgets --------------------------------------------------------------
function renderSpanBudgets() {
  const list = S.spanBudgets || [];
  const tb = $('budgets').tBodies[0];
  syncRows(tb, list, siteKey, (b) => [
    [`${esc(b.name)}${b.category ? ' <span class="muted">' + esc(b.category) + '</span>' : ''}`, 'l name'],
    [[isNum(b.p95_ms) ? 'p95 \u2264 ' + fmt(b.p95_ms) : '', isNum(b.max_ms) ? 'max \u2264 ' + fmt(b.max_ms) : ''].filter(Boolean).join(' \u00b7 ') + ' ms', 'l'],
    [`p95 ${fmt(b.observed_p95_ms)} \u00b7 max ${fmt(b.observed_max_ms)}`, 'l'],
    [fint(b.over_count)],
    [`<span class="badge ${esc(b.state)}" title="${isNum(b.since) ? 'since ' + esc(ago(b.since)) : ''}">${esc(b.state)}</span>`, 'l'],
    ['<button type="button" class="btn ghost small" data-remove="1">remove</button>'],
  ], (tr, b) => {
    if (tr.dataset.name !== b.name) tr.dataset.name = b.name;
    const cat = b.category == null ? '' : String(b.category);
    if (tr.dataset.category !== cat) tr.dataset.category = cat;
    tr.dataset.hasCategory = b.category == null ? '0' : '1';
  });
  if (!list.length && !tb.querySelector('.empty-row')) {
    tb.innerHTML = '<tr class="empty-row" data-key=""><td colspan="6" class="l muted">no span budgets; set one below (the frame site is "(frame)")</td></tr>';
  }
}
$('budgets').tBodies[0].addEventListener('click', async (e) => {
  const btn = e.target.closest('button[data-remove]');
  if (!btn) return;
  const tr = btn.closest('tr');
  const body = {name: tr.dataset.name};
  if (tr.dataset.hasCategory === '1') body.category = tr.dataset.category;
  const msg = $('budget-msg');
  btn.disabled = true;
  try {
    const r = await post('/profiler/budgets/remove', body);
    msg.className = r.status === 200 ? 'msg ok' : 'msg err';
    msg.textContent = r.status === 200 ? (r.body.removed ? 'removed ' + body.name : body.name + ' was not set') : detailOf(r);
    await refreshSpanBudgets();
  } catch (err) {
    msg.className = 'msg err';
    msg.textContent = err instanceof AuthError ? 'needs the token' : String(err && err.message ? err.message : err);
  } finally {
    btn.disabled = false;
  }
});

// Counters --------------------------------------------------------------------
function renderCounters() {
  const d = S.dash;
  const list = (d && Array.isArray(d.counters)) ? d.counters : [];
  const box = $('counters');
  if (!list.length) {
    if (!box.querySelector('.empty')) box.innerHTML = '<div class="empty">no PERF_COUNTER series</div>';
    return;
  }
  const names = list.map((c) => c.name).join('\u0001');
  if (box._names !== names) {
    box.innerHTML = list.map((c, i) => `<div class="ctr" data-name="${esc(c.name)}"><div class="n" title="${esc(c.name)}">${esc(c.name)}</div><div class="v" data-i="${i}"></div><div class="s"></div><canvas height="34"></canvas></div>`).join('');
    box._names = names;
  }
  list.forEach((c, i) => {
    const el = box.children[i];
    const v = fmt(c.last);
    const st = `min ${fmt(c.min)} \u00b7 avg ${fmt(c.avg)} \u00b7 max ${fmt(c.max)} \u00b7 ${fint(c.count)} samples`;
    const ve = el.querySelector('.v'), se = el.querySelector('.s');
    if (ve.textContent !== v) ve.textContent = v;
    if (se.textContent !== st) se.textContent = st;
  });
}
