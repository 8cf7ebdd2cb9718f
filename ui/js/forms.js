// Forms: the bearer-token prompt, the budget limits and the span budgets.

// Bearer token ------------------------------------------------------------
// A 401 asks once; the token is kept in sessionStorage, sent as a bearer token.
function askToken() {
  const first = !S.needToken;
  S.needToken = true;
  const f = $('token-form');
  if (first) {
    $('token-note').textContent = S.token ? 'The token was refused; enter it again.' : 'Kept for this tab only (sessionStorage).';
    f.hidden = false;
    $('token-input').focus();
  }
  setConn('idle', 'needs a token');
}
$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const v = $('token-input').value.trim();
  if (!v) return;
  S.token = v;
  storageSet(TOKEN_KEY, v);
  $('token-input').value = '';
  $('token-form').hidden = true;
  $('token-btn').hidden = false;
  S.needToken = false;
  S.authOk = false;
  schedule(0);
});
$('token-btn').addEventListener('click', () => {
  $('token-form').hidden = false;
  $('token-note').textContent = 'Replace the token kept for this tab.';
  $('token-input').focus();
});
if (S.token) $('token-btn').hidden = false;

// Budgets: limits ---------------------------------------------------------
const LIMITS = ['max_cpu_percent', 'max_mem_mb', 'max_vram_mb', 'max_running_jobs', 'lazy_asset_target_mb', 'max_queue_depth', 'evaluation_interval'];
const limitsForm = $('limits-form');
function renderLimits() {
  const l = S.budgets && S.budgets.limits;
  if (!l) return;
  for (const k of LIMITS) {
    const inp = limitsForm.elements[k];
    if (!inp || S.limitsDirty.has(k) || document.activeElement === inp) continue;
    const v = l[k];
    const s = isNum(v) ? String(v) : '';
    if (inp.value !== s) inp.value = s;
  }
}
limitsForm.addEventListener('input', (e) => {
  const n = e.target && e.target.name;
  if (!n) return;
  S.limitsDirty.add(n);
  e.target.classList.add('dirty');
});
limitsForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const msg = $('limits-msg');
  const body = {};
  const keys = S.limitsDirty.size ? LIMITS.filter((k) => S.limitsDirty.has(k)) : LIMITS;
  for (const k of keys) {
    const raw = String(limitsForm.elements[k].value).trim();
    if (raw === '') {
      if (S.limitsDirty.has(k)) { msg.className = 'msg err'; msg.textContent = k + ' is empty'; return; }
      continue;
    }
    const v = Number(raw);
    body[k] = isNum(v) ? v : raw;
  }
  msg.className = 'msg';
  msg.textContent = 'applying\u2026';
  try {
    const r = await post('/budgets/apply', body);
    if (r.status === 200 && r.body && r.body.ok) {
      for (const k of LIMITS) limitsForm.elements[k].classList.remove('dirty');
      S.limitsDirty.clear();
      if (S.budgets) S.budgets.limits = r.body.limits;
      renderLimits();
      msg.className = 'msg ok';
      msg.textContent = 'applied: ' + Object.keys(body).map((k) => k + '=' + body[k]).join(', ');
    } else {
      msg.className = 'msg err';
      msg.textContent = (r.status === 422 ? '422: ' : 'HTTP ' + r.status + ': ') + detailOf(r);
    }
  } catch (err) {
    msg.className = 'msg err';
    msg.textContent = err instanceof AuthError ? 'needs the token' : 'not applied: ' + (err && err.message ? err.message : err);
  }
});

// Span budgets: the form (the table is in tables.js) ----------------------
async function refreshSpanBudgets() {
  const r = await api('/profiler/budgets');
  if (r.body && r.body.ok && Array.isArray(r.body.budgets)) S.spanBudgets = r.body.budgets;
  renderSpanBudgets();
}
$('budget-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.currentTarget;
  const msg = $('budget-msg');
  const body = {name: f.elements.name.value.trim()};
  const cat = f.elements.category.value.trim();
  if (cat) body.category = cat;
  for (const k of ['p95_ms', 'max_ms']) {
    const raw = f.elements[k].value.trim();
    if (raw !== '') body[k] = isNum(Number(raw)) ? Number(raw) : raw;
  }
  try {
    const r = await post('/profiler/budgets/set', body);
    if (r.status === 200) {
      msg.className = 'msg ok';
      msg.textContent = 'set ' + body.name;
      f.reset();
      await refreshSpanBudgets();
    } else {
      msg.className = 'msg err';
      msg.textContent = (r.status === 422 ? '422: ' : 'HTTP ' + r.status + ': ') + detailOf(r);
    }
  } catch (err) {
    msg.className = 'msg err';
    msg.textContent = err instanceof AuthError ? 'needs the token' : String(err && err.message ? err.message : err);
  }
});
