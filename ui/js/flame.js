// Call tree as a flame graph (icicle: roots on top) -------------------------
function renderTree() {
  const t = S.tree;
  const box = $('call-tree');
  if (!t || !Array.isArray(t.roots)) return;
  const sig = JSON.stringify(t) + '\u0001' + S.treeFocus.join('\u0002');
  if (sig === S.treeSig) return;
  S.treeSig = sig;
  $('tree-info').textContent = `coverage ${(100 * (t.coverage || 0)).toFixed(1)}% \u00b7 ${fint(t.nodes)} nodes` + (t.folded ? ` \u00b7 ${fint(t.folded)} folded` : '');
  // Follow the focus path; drop it when the node is gone.
  let roots = t.roots;
  const crumbs = [];
  for (const key of S.treeFocus) {
    const n = roots.find((x) => siteKey(x) === key);
    if (!n) { S.treeFocus = crumbs.map((c) => c.key); break; }
    crumbs.push({key, node: n});
    roots = [n];
    if (crumbs.length < S.treeFocus.length) roots = n.children || [];
  }
  if (crumbs.length) roots = [crumbs[crumbs.length - 1].node];
  $('tree-reset').hidden = crumbs.length === 0;
  $('tree-crumbs').innerHTML = crumbs.length
    ? '<a data-depth="0">all</a> \u203a ' + crumbs.map((c, i) => `<a data-depth="${i + 1}">${esc(c.node.name)}</a>`).join(' \u203a ')
    : '';
  const total = roots.reduce((s, n) => s + (n.total_ms || 0), 0);
  if (!(total > 0)) {
    box.innerHTML = '<div class="empty">no spans yet</div>';
    box.style.height = '';
    S.flameNodes = [];
    return;
  }
  const out = [];
  let maxDepth = 0;
  const lay = (nodes, x0, scale, depth, parentKey) => {
    const sorted = nodes.slice().sort((a, b) => (a.name === '(other)') - (b.name === '(other)') || b.total_ms - a.total_ms);
    let x = x0;
    for (const n of sorted) {
      const w = (n.total_ms || 0) * scale;
      if (w >= 0.0015) {
        const key = siteKey(n);
        const path = parentKey.concat([key]);
        out.push({n, x, w, depth, path});
        maxDepth = Math.max(maxDepth, depth);
        if (depth < 40 && n.children && n.children.length) lay(n.children, x, scale, depth + 1, path);
      }
      x += w;
    }
  };
  lay(roots, 0, 1 / total, 0, crumbs.length ? S.treeFocus.slice(0, crumbs.length - 1) : []);
  S.flameNodes = out;
  // Built as elements, their geometry set through the CSSOM (the page's
  // Content-Security-Policy refuses style attributes in markup).
  const frag = document.createDocumentFragment();
  const div = (cls, left, width, top) => {
    const el = document.createElement('div');
    el.className = cls;
    el.style.left = (left * 100).toFixed(4) + '%';
    el.style.width = (width * 100).toFixed(4) + '%';
    el.style.top = top + 'px';
    frag.appendChild(el);
    return el;
  };
  out.forEach((o, i) => {
    const n = o.n;
    const tiny = o.w < 0.025;
    const el = div(tiny ? 'fn tiny' : 'fn', o.x, o.w, o.depth * 20);
    el.dataset.i = String(i);
    el.dataset.name = n.name;
    el.style.background = colorOf(n.name);
    if (!tiny) {
      el.textContent = n.name + ' ';
      const small = document.createElement('small');
      small.textContent = fmt(n.total_ms) + ' ms';
      el.appendChild(small);
    }
    const kids = (n.children || []).reduce((s, c) => s + (c.total_ms || 0), 0);
    if (kids > 0 && n.total_ms > 0) {
      const selfFrac = Math.max(0, n.total_ms - kids) / n.total_ms;
      const sw = o.w * selfFrac;
      if (sw >= 0.002) div('fself', o.x + o.w - sw, sw, (o.depth + 1) * 20);
    }
  });
  box.style.height = ((maxDepth + 2) * 20 + 4) + 'px';
  box.replaceChildren(frag);
}
$('call-tree').addEventListener('mousemove', (e) => {
  const el = e.target.closest('.fn');
  if (!el) { hideTip(); return; }
  const o = S.flameNodes[Number(el.dataset.i)];
  if (!o) return;
  const n = o.n;
  const root = S.flameNodes.length ? S.flameNodes.filter((x) => x.depth === 0).reduce((s, x) => s + x.n.total_ms, 0) : 0;
  showTip(`<b>${esc(n.name)}</b> <span class="muted">${esc(n.category)}</span>` + rowsHtml([
    ['total', fmt(n.total_ms) + ' ms' + (root ? ` (${(100 * n.total_ms / root).toFixed(1)}%)` : '')],
    ['self', covMark(n.coverage) + fmt(n.self_ms) + ' ms' + (coverageText(n.coverage) ? ` <span class="muted">(${coverageText(n.coverage)})</span>` : '')],
    ['calls', fint(n.count)],
    ['per call', n.count ? fmt(n.total_ms / n.count) + ' ms' : '\u2013'],
    ['children', String((n.children || []).length)],
  ]), e.clientX, e.clientY);
});
$('call-tree').addEventListener('mouseleave', hideTip);
$('call-tree').addEventListener('click', (e) => {
  const el = e.target.closest('.fn');
  if (!el) return;
  const o = S.flameNodes[Number(el.dataset.i)];
  if (!o) return;
  S.treeFocus = o.path;
  S.treeSig = '';
  renderTree();
});
$('tree-crumbs').addEventListener('click', (e) => {
  const a = e.target.closest('a[data-depth]');
  if (!a) return;
  S.treeFocus = S.treeFocus.slice(0, Number(a.dataset.depth));
  S.treeSig = '';
  renderTree();
});
$('tree-reset').addEventListener('click', () => { S.treeFocus = []; S.treeSig = ''; renderTree(); });
