// devattest dashboard: a client of the /v1 API (docs/api/openapi.yaml).
// The bearer token lives in sessionStorage (this tab only). Every value
// from the API reaches the page as text (textContent, attributes), never
// as markup.
'use strict';

(function () {
  const TOKEN_KEY = 'devattest.token';
  const REFRESH_MS = 30000;
  const PAGE_SIZE = 10;
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const view = document.getElementById('view');
  let policyCache = null;
  let refreshTimer = null;
  let renderSeq = 0;

  // ---- helpers ----
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') el.textContent = String(v);
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') el.textContent = String(v);
      else el.setAttribute(k, String(v));
    }
    for (const c of children.flat()) if (c) el.append(c);
    return el;
  }

  function badge(status) {
    const s = String(status || 'unknown');
    return h('span', { class: 'badge s-' + s.replace(/[^a-z_]/g, ''), text: s.replace('_', ' ') });
  }

  function when(ts) {
    if (!ts) return 'never';
    const d = new Date(ts);
    if (Number.isNaN(d.getTime())) return String(ts);
    return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  }

  function ago(ts) {
    if (!ts) return '';
    const s = Math.round((Date.now() - new Date(ts).getTime()) / 1000);
    if (s < 90) return s + ' s ago';
    if (s < 5400) return Math.round(s / 60) + ' min ago';
    if (s < 172800) return Math.round(s / 3600) + ' h ago';
    return Math.round(s / 86400) + ' d ago';
  }

  function show(v) {
    if (v === undefined) return '';
    return typeof v === 'string' ? v : JSON.stringify(v);
  }

  function td(label, ...children) {
    return h('td', { 'data-label': label }, ...children);
  }

  function table(caption, headers, rows, opts) {
    const o = opts || {};
    return h('div', { class: 'table-wrap' },
      h('table', { class: 'stack', id: o.id },
        h('caption', { class: o.showCaption ? '' : 'muted', text: caption }),
        h('thead', {}, h('tr', {}, headers.map((x) =>
          h('th', { scope: 'col', class: x.num ? 'num' : null, text: x.label || x })))),
        h('tbody', {}, rows.length ? rows :
          h('tr', {}, h('td', { colspan: headers.length, class: 'muted', text: o.empty || 'Nothing to show.' })))));
  }

  function token() { return sessionStorage.getItem(TOKEN_KEY); }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(path) {
    const t = token();
    const resp = await fetch(path, {
      headers: t ? { Authorization: 'Bearer ' + t } : {},
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
    let body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    if (!resp.ok) {
      const err = body && body.error ? body.error : { code: 'http_' + resp.status, message: resp.statusText };
      throw new ApiError(resp.status, err.code, err.message);
    }
    return body;
  }

  // Every page of a paged list (next_cursor), at most maxPages of them.
  async function apiAll(path, key, maxPages) {
    const items = [];
    let cursor = null;
    for (let i = 0; i < (maxPages || 20); i++) {
      const sep = path.includes('?') ? '&' : '?';
      const page = await api(path + sep + 'limit=1000' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
      items.push(...page[key]);
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    return items;
  }

  // A link that downloads GET /v1/agents.csv with the token: a plain link
  // cannot carry the Authorization header, so the click fetches the file
  // and hands it to the browser as a download.
  function csvLink(query, label) {
    const qs = Object.entries(query).filter(([, v]) => v)
      .map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v)).join('&');
    const href = '/v1/agents.csv' + (qs ? '?' + qs : '');
    const status = h('span', { class: 'muted', 'aria-live': 'polite' });
    const link = h('a', { href, id: 'csv-link', download: 'devattest-machines.csv', text: label,
      onclick: async (e) => {
        e.preventDefault();
        status.textContent = '';
        try {
          const t = token();
          const resp = await fetch(href, {
            headers: t ? { Authorization: 'Bearer ' + t } : {},
            cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer',
          });
          if (!resp.ok) throw new Error('the server answered ' + resp.status);
          const url = URL.createObjectURL(await resp.blob());
          const a = h('a', { href: url, download: 'devattest-machines.csv', hidden: true });
          document.body.append(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(url), 10000);
        } catch (ex) {
          status.textContent = ' Download failed: ' + ex.message;
        }
      } });
    return h('p', { class: 'export' }, link, status);
  }

  async function policy() {
    if (policyCache === null) {
      try { policyCache = await api('/v1/policy'); } catch (e) { policyCache = {}; }
    }
    return policyCache;
  }

  function policyCheck(p, id) {
    return (p.checks || []).find((c) => c.id === id) || {};
  }

  function controlTitle(p, id) {
    const c = (p.controls || {})[id];
    return c && c.title ? c.title : '';
  }

  function go(hash) {
    if (location.hash === hash) render();
    else location.hash = hash;
  }

  function params() {
    const [path, query] = location.hash.replace(/^#/, '').split('?');
    return { parts: path.split('/').filter(Boolean).map(decodeURIComponent),
      q: new URLSearchParams(query || '') };
  }

  function setQuery(key, value) {
    const { parts, q } = params();
    if (value === '' || value === null) q.delete(key); else q.set(key, value);
    if (key !== 'page') q.delete('page');
    const qs = q.toString();
    history.replaceState(null, '', '#/' + parts.map(encodeURIComponent).join('/') + (qs ? '?' + qs : ''));
    render({ keepFocus: true });
  }

  function filterSelect(id, label, key, options, current) {
    return h('div', {},
      h('label', { for: id, text: label }),
      h('select', { id, onchange: (e) => setQuery(key, e.target.value) },
        options.map(([v, t]) => h('option', { value: v, selected: v === current, text: t }))));
  }

  function filterSearch(id, label, key, current) {
    let timer = null;
    return h('div', {},
      h('label', { for: id, text: label }),
      h('input', { id, type: 'search', value: current || '',
        oninput: (e) => { clearTimeout(timer); timer = setTimeout(() => setQuery(key, e.target.value), 300); } }));
  }

  function pager(total, page, label) {
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const p = Math.min(Math.max(1, page), pages);
    return h('nav', { class: 'pager', 'aria-label': label + ' pages' },
      h('button', { type: 'button', id: 'page-prev', disabled: p <= 1, onclick: () => setQuery('page', String(p - 1)), text: 'Previous' }),
      h('span', { text: `Page ${p} of ${pages} (${total})` }),
      h('button', { type: 'button', id: 'page-next', disabled: p >= pages, onclick: () => setQuery('page', String(p + 1)), text: 'Next' }));
  }

  function pageOf(items, page) {
    const pages = Math.max(1, Math.ceil(items.length / PAGE_SIZE));
    const p = Math.min(Math.max(1, page), pages);
    return items.slice((p - 1) * PAGE_SIZE, p * PAGE_SIZE);
  }

  // ---- views ----
  function renderLogin(message) {
    document.getElementById('session').hidden = true;
    view.replaceChildren(document.getElementById('login-template').content.cloneNode(true));
    const form = document.getElementById('login-form');
    const err = document.getElementById('login-error');
    if (message) err.textContent = message;
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const t = document.getElementById('token').value.trim();
      err.textContent = '';
      sessionStorage.setItem(TOKEN_KEY, t);
      try {
        await api('/v1/vendors');
        policyCache = null;
        go('#/fleet');
      } catch (ex) {
        sessionStorage.removeItem(TOKEN_KEY);
        err.textContent = ex.status === 401 || ex.status === 403 ?
          'This token was not accepted.' : 'Login failed: ' + ex.message;
      }
    });
    document.getElementById('token').focus();
  }

  async function renderFleet() {
    const { q } = params();
    const vendorQ = q.get('vendor') || '';
    const status = q.get('status') || '';
    const control = q.get('control') || '';
    const check = q.get('check') || '';
    const page = Number(q.get('page') || '1');
    const fleet = await api('/v1/fleet');

    let vendors = fleet.vendors.filter((v) => v.name.toLowerCase().includes(vendorQ.toLowerCase()));
    if (status) vendors = vendors.filter((v) => v[status] > 0);
    const statuses = ['compliant', 'non_compliant', 'stale', 'revoked'];
    const vrows = pageOf(vendors, page).map((v) => h('tr', {},
      td('Vendor', h('a', { href: '#/vendor/' + encodeURIComponent(v.name), text: v.name })),
      td('Machines', String(v.machines)),
      statuses.map((s) => td(s.replace('_', ' '), h('a', {
        href: '#/vendor/' + encodeURIComponent(v.name) + '?status=' + s,
        'aria-label': `${v[s]} ${s.replace('_', ' ')} machines of ${v.name}`, text: String(v[s]) })))));

    const controls = fleet.controls.filter((c) => !control || c.id === control);
    const crow = (c) => h('tr', {},
      td('Control', h('strong', { text: c.id }), ' ', h('span', { class: 'muted', text: c.title })),
      ['pass', 'fail', 'unknown', 'not_applicable'].map((s) => td(s.replace('_', ' '), String(c[s]))));
    const checks = fleet.checks.filter((c) =>
      (!check || c.id.includes(check)) && (!control || (c.controls || []).includes(control)));
    const krow = (c) => h('tr', {},
      td('Check', h('span', { class: 'mono', text: c.id }), ' ', h('span', { class: 'muted', text: c.title })),
      td('Controls', (c.controls || []).join(', ')),
      ['pass', 'fail', 'unknown', 'not_applicable'].map((s) => td(s.replace('_', ' '), String(c[s]))));
    const changes = fleet.changes.filter((c) =>
      c.vendor.toLowerCase().includes(vendorQ.toLowerCase()) && (!check || c.subject.includes(check)));

    view.replaceChildren(
      h('h2', { tabindex: '-1', text: 'Fleet' }),
      h('form', { class: 'filters', role: 'search', 'aria-label': 'Fleet filters', onsubmit: (e) => e.preventDefault() },
        filterSearch('f-vendor', 'Vendor', 'vendor', vendorQ),
        filterSelect('f-status', 'Machines with status', 'status',
          [['', 'any'], ...statuses.map((s) => [s, s.replace('_', ' ')])], status),
        filterSelect('f-control', 'Control', 'control',
          [['', 'all'], ...fleet.controls.map((c) => [c.id, c.id + ' ' + c.title])], control),
        filterSearch('f-check', 'Check', 'check', check)),
      h('section', { 'aria-labelledby': 'vendors-h' },
        h('h3', { id: 'vendors-h', text: 'Vendors' }),
        table('Machines per vendor and status', [{ label: 'Vendor' }, 'Machines', 'Compliant', 'Non-compliant', 'Stale', 'Revoked'],
          vrows, { id: 'vendors', empty: 'No vendor matches.' }),
        pager(vendors.length, page, 'Vendors'),
        csvLink({ status }, status ? `Download the ${status.replace('_', ' ')} machines (CSV)` :
          'Download the machine list (CSV)')),
      h('div', { class: 'grid' },
        h('section', { class: 'panel', 'aria-labelledby': 'controls-h' },
          h('h3', { id: 'controls-h', text: 'Controls across the fleet' }),
          h('p', { class: 'muted', text: 'Machines by the result of their newest report.' }),
          table('Per-control status', ['Control', 'Pass', 'Fail', 'Unknown', 'N/A'], controls.map(crow), { id: 'controls' })),
        h('section', { class: 'panel', 'aria-labelledby': 'changes-h' },
          h('h3', { id: 'changes-h', text: 'Changes in the last 24 h' }),
          changes.length ? h('ul', { class: 'changes', id: 'changes' }, changes.slice(0, 50).map((c) => h('li', {},
            h('span', { class: 'muted', text: when(c.at) + ' ' }),
            h('a', { href: '#/machine/' + encodeURIComponent(c.agent_id), text: c.hostname || c.agent_id.slice(0, 12) }),
            ` (${c.vendor}) ${c.kind === 'check' ? 'check ' + c.subject : c.kind === 'boot' ? 'boot ' + c.subject :
              c.kind === 'status' ? 'status' : c.subject}: ` +
            `${c.from === null ? '' : c.from + ' → '}${c.to}`)))
            : h('p', { class: 'muted', id: 'changes', text: 'No change in the last 24 h.' }))),
      h('section', { 'aria-labelledby': 'checks-h' },
        h('h3', { id: 'checks-h', text: 'Checks across the fleet' }),
        table('Per-check status', ['Check', 'Controls', 'Pass', 'Fail', 'Unknown', 'N/A'], checks.map(krow), { id: 'checks', empty: 'No check matches.' })));
  }

  async function newestReport(agent) {
    const r = await api('/v1/agents/' + encodeURIComponent(agent.id) + '/reports?limit=1');
    return r.reports[0] || null;
  }

  async function renderVendor(name) {
    const { q } = params();
    const status = q.get('status') || '';
    const search = q.get('q') || '';
    const check = q.get('check') || '';
    const page = Number(q.get('page') || '1');
    let path = '/v1/agents?vendor=' + encodeURIComponent(name);
    if (status) path += '&status=' + encodeURIComponent(status);
    const agents = await apiAll(path, 'agents');
    const pol = await policy();
    let rows = agents.filter((a) => {
      const host = (a.host && a.host.hostname) || '';
      return !search || a.id.includes(search) || host.toLowerCase().includes(search.toLowerCase());
    });
    const latest = new Map();
    if (check) {
      await Promise.all(rows.map(async (a) => latest.set(a.id, await newestReport(a))));
      rows = rows.filter((a) => {
        const r = latest.get(a.id);
        return r && r.verdict.checks.some((c) => c.id.includes(check) && c.verdict !== 'pass');
      });
    }
    const shown = pageOf(rows, page);
    await Promise.all(shown.filter((a) => !latest.has(a.id)).map(async (a) => latest.set(a.id, await newestReport(a))));
    const trows = shown.map((a) => {
      const r = latest.get(a.id);
      const checks = r ? r.verdict.checks : [];
      const failing = checks.filter((c) => c.verdict === 'fail' || c.verdict === 'unknown');
      const measured = checks.filter((c) => c.provenance === 'measured').length;
      return h('tr', {},
        td('Machine', h('a', { href: '#/machine/' + encodeURIComponent(a.id), class: 'machine-link',
          text: (a.host && a.host.hostname) || a.id.slice(0, 12) }), h('div', { class: 'mono muted', text: a.id })),
        td('Status', badge(a.status)),
        td('Last report', a.last_verified_at ? when(a.last_verified_at) + ' (' + ago(a.last_verified_at) + ')' : 'never'),
        td('Trust', r ? 'TPM quote' : 'none yet'),
        td('Measured / reported', r ? `${measured} / ${checks.length - measured}` : ''),
        td('Failing checks', failing.length ? h('ul', {}, failing.map((c) =>
          h('li', { class: 'mono', text: `${c.id} (${c.verdict})` }))) : (r ? 'none' : '')));
    });
    view.replaceChildren(
      h('p', {}, h('a', { href: '#/fleet', text: '← Fleet' })),
      h('h2', { tabindex: '-1', text: 'Vendor ' + name }),
      h('form', { class: 'filters', role: 'search', 'aria-label': 'Machine filters', onsubmit: (e) => e.preventDefault() },
        filterSearch('f-q', 'Host name or id', 'q', search),
        filterSelect('f-status', 'Status', 'status',
          [['', 'any'], ...['compliant', 'non_compliant', 'stale', 'revoked', 'pending'].map((s) => [s, s.replace('_', ' ')])], status),
        filterSearch('f-check', 'Not passing check', 'check', check)),
      table('Machines of ' + name, ['Machine', 'Status', 'Last report', 'Trust', 'Measured / reported checks', 'Failing checks'],
        trows, { id: 'machines', empty: 'No machine matches.' }),
      pager(rows.length, page, 'Machines'),
      csvLink({ vendor: name, status }, `Download the machines of ${name} (CSV)`));
  }

  function historyChart(reports) {
    const pts = reports.slice().reverse(); // oldest first
    const W = 640, H = 180, L = 40, R = 12, T = 12, B = 28;
    // evenly spaced in report order (reports may share a second)
    const x = (i) => (pts.length < 2 ? (L + W - R) / 2 : L + (i / (pts.length - 1)) * (W - L - R));
    const score = (r) => {
      const c = r.verdict.checks.filter((k) => k.verdict !== 'not_applicable');
      return c.length ? c.filter((k) => k.verdict === 'pass').length / c.length : 1;
    };
    const y = (s) => T + (1 - s) * (H - T - B);
    const line = pts.map((r, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(score(r)).toFixed(1)}`).join(' ');
    const chart = svg('svg', { class: 'chart', id: 'history-chart', viewBox: `0 0 ${W} ${H}`, role: 'img',
      'aria-labelledby': 'history-title history-desc' },
    svg('title', { id: 'history-title', text: 'Compliance history' }),
    svg('desc', { id: 'history-desc', text: `${pts.length} reports; share of applicable checks passing, oldest left. ` +
      `${pts.filter((r) => r.compliant).length} compliant, ${pts.filter((r) => !r.compliant).length} non-compliant.` }),
    svg('line', { class: 'axis', x1: L, y1: y(0), x2: W - R, y2: y(0) }),
    svg('line', { class: 'axis', x1: L, y1: y(1), x2: W - R, y2: y(1) }),
    svg('text', { x: 4, y: y(1) + 4, text: '100%' }),
    svg('text', { x: 4, y: y(0) + 4, text: '0%' }),
    pts.length ? svg('text', { x: L, y: H - 6, text: when(pts[0].received_at) }) : null,
    pts.length > 1 ? svg('text', { x: W - R, y: H - 6, 'text-anchor': 'end', text: when(pts[pts.length - 1].received_at) }) : null,
    svg('path', { class: 'line', d: line }),
    pts.map((r, i) => svg('circle', { class: r.compliant ? 'pt-ok' : 'pt-bad', cx: x(i).toFixed(1),
      cy: y(score(r)).toFixed(1), r: 4 },
    svg('title', { text: `${when(r.received_at)}: ${r.compliant ? 'compliant' : 'non-compliant'}` }))));
    return chart;
  }

  function pointerGet(doc, pointer) {
    if (typeof pointer !== 'string' || !pointer.startsWith('/')) return undefined;
    let cur = doc;
    for (const raw of pointer.slice(1).split('/')) {
      const k = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      if (cur === null || typeof cur !== 'object' || !(k in cur)) return undefined;
      cur = cur[k];
    }
    return cur;
  }

  function renderDiff(out, d) {
    out.replaceChildren(
      h('p', { text: `From ${when(d.from.received_at)} (${d.from.compliant ? 'compliant' : 'non-compliant'}) ` +
        `to ${when(d.to.received_at)} (${d.to.compliant ? 'compliant' : 'non-compliant'}): ` +
        `${d.fields_changed} field(s) changed${d.fields_truncated ? ', first ones shown' : ''}.` }),
      d.checks.length ? table('Checks whose verdict changed', ['Check', 'From', 'To'], d.checks.map((c) => h('tr', {},
        td('Check', h('span', { class: 'mono', text: c.id })), td('From', c.from ? badge(c.from) : 'absent'), td('To', badge(c.to)))),
      { id: 'diff-checks', showCaption: true }) : h('p', { class: 'muted', text: 'No check changed its verdict.' }),
      table('Fields that changed', ['Field', 'Change', 'From', 'To', 'Provenance'], d.fields.map((f) => h('tr', {},
        td('Field', h('span', { class: 'mono', text: f.pointer })), td('Change', f.change),
        td('From', h('span', { class: 'mono', text: show(f.from) })), td('To', h('span', { class: 'mono', text: show(f.to) })),
        td('Provenance', f.provenance))), { id: 'diff-fields', showCaption: true, empty: 'The two reports state the same posture.' }));
  }

  // One value of a boot state (a digest, a flag); a digest longer than 20
  // characters shows its ends, the whole of it is the title and data-value.
  function bootScalar(v) {
    if (v === null || v === undefined) return h('span', { class: 'muted', text: 'none' });
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    if (typeof v === 'string' && s.length > 20) {
      return h('code', { class: 'digest', title: s, 'data-value': s, text: s.slice(0, 8) + '…' + s.slice(-8) });
    }
    return h('code', { 'data-value': s, text: s });
  }

  // A boot state member as the API gives it (old or new of a boot change):
  // a list (boot applications, authorities), an object (keys, Secure Boot
  // variables) or nothing.
  function bootValue(v) {
    if (Array.isArray(v)) {
      if (!v.length) return h('span', { class: 'muted', text: 'empty' });
      return h('ol', { class: 'boot-list' }, v.map((x) => h('li', {}, bootScalar(x))));
    }
    if (v && typeof v === 'object') {
      const keys = Object.keys(v);
      if (!keys.length) return h('span', { class: 'muted', text: 'empty' });
      return h('ul', { class: 'boot-list' }, keys.map((k) => h('li', { 'data-key': k }, h('span', { text: k + ': ' }), bootScalar(v[k]))));
    }
    return bootScalar(v);
  }

  // What the identity says about the EK certificate when there is no issuer.
  function ekIssuer(agent) {
    if (agent.ek_issuer) return agent.ek_issuer;
    if (agent.ek_trust === 'software' || !agent.ek_name) return 'none: a software identity, no TPM endorsement key';
    if (agent.ek_trust === 'admin_approval') return 'none: the TPM has no EK certificate (EK approved by an administrator)';
    return 'not recorded (enrolled before this server kept EK issuers)';
  }

  async function renderMachine(id) {
    const enc = encodeURIComponent(id);
    const [agent, list, pol, boot] = await Promise.all([
      api('/v1/agents/' + enc), api('/v1/agents/' + enc + '/reports?limit=100'), policy(),
      api('/v1/agents/' + enc + '/boot-changes?limit=20').catch(() => ({ changes: [] }))]);
    const reports = list.reports;
    const latest = agent.last_report_id ? await api('/v1/reports/' + encodeURIComponent(agent.last_report_id)) : null;
    const { q } = params();
    const controlF = q.get('control') || '';
    const statusF = q.get('verdict') || '';

    const ident = h('dl', { class: 'facts', id: 'identity' },
      h('dt', { text: 'Vendor' }), h('dd', {}, h('a', { href: '#/vendor/' + encodeURIComponent(agent.vendor), text: agent.vendor })),
      h('dt', { text: 'Status' }), h('dd', {}, badge(agent.status)),
      h('dt', { text: 'Host name' }), h('dd', { text: (agent.host && agent.host.hostname) || '' }),
      h('dt', { text: 'Agent id' }), h('dd', { class: 'mono', text: agent.id }),
      h('dt', { text: 'EK name' }), h('dd', { class: 'mono', text: agent.ek_name }),
      h('dt', { text: 'EK issuer' }), h('dd', { id: 'ek-issuer', class: agent.ek_issuer ? 'mono' : 'muted', text: ekIssuer(agent) }),
      agent.ek_issuer ? [
        h('dt', { text: 'EK certificate serial' }), h('dd', { id: 'ek-serial', class: 'mono', text: agent.ek_serial || '' }),
        h('dt', { text: 'EK root' }), h('dd', { id: 'ek-root', class: 'mono', text: agent.ek_root || '' })] : null,
      h('dt', { text: 'AK name' }), h('dd', { class: 'mono', text: agent.ak_name }),
      h('dt', { text: 'Enrolled' }), h('dd', { text: when(agent.enrolled_at) }),
      h('dt', { text: 'Last verified report' }), h('dd', { text: agent.last_verified_at ? `${when(agent.last_verified_at)} (${ago(agent.last_verified_at)})` : 'never' }),
      h('dt', { text: 'Boot reference' }), h('dd', { text: agent.boot_reference ? 'recorded ' + when(agent.boot_reference.recorded_at) : 'none yet' }));
    const bootChanges = (boot.changes || []);
    const refReport = agent.boot_reference ? agent.boot_reference.report_id : '';
    // The change's report: compared below with the reference report.
    const reportLink = (rid) => {
      const id = String(rid);
      const short = id.slice(0, 12) + '…';
      if (reports.length < 2 || !reports.some((r) => r.id === id)) return h('span', { class: 'mono', title: id, text: short });
      return h('a', { href: '#diff-h', class: 'boot-report', 'data-report': id, title: 'Compare report ' + id + ' with the boot reference',
        onclick: (e) => {
          e.preventDefault();
          const from = document.getElementById('diff-from');
          const to = document.getElementById('diff-to');
          if (refReport && reports.some((r) => r.id === refReport) && refReport !== id) from.value = refReport;
          to.value = id;
          document.getElementById('diff-form').requestSubmit();
          document.getElementById('diff-h').scrollIntoView();
        } }, 'report ', h('span', { class: 'mono', text: short }));
    };
    const bootList = bootChanges.length ? h('ul', { id: 'boot-changes', class: 'boot-changes' }, bootChanges.map((c) =>
      h('li', { class: 'boot-change', 'data-what': c.what },
        h('p', {}, `${when(c.at)}: `, h('strong', { class: 'boot-what', text: c.what }), ' changed in ', reportLink(c.report_id)),
        h('dl', { class: 'boot-values' },
          h('dt', { text: 'Before' }), h('dd', { class: 'boot-old' }, bootValue(c.old)),
          h('dt', { text: 'After' }), h('dd', { class: 'boot-new' }, bootValue(c.new))))))
      : h('p', { class: 'muted', id: 'boot-changes', text: 'No boot change since the reference.' });

    let verdictSection;
    if (latest) {
      const v = latest.verdict;
      const controls = Object.entries(v.controls || {}).filter(([cid]) => !controlF || cid === controlF);
      const checks = v.checks.filter((c) => (!statusF || c.verdict === statusF) &&
        (!controlF || (policyCheck(pol, c.id).controls || []).includes(controlF)));
      verdictSection = h('section', { 'aria-labelledby': 'verdicts-h' },
        h('h3', { id: 'verdicts-h', text: 'Verdicts of the newest report' }),
        h('p', { class: 'muted', text: `Report ${latest.id}, received ${when(latest.received_at)}, policy ${v.policy_id} v${v.policy_version}.` }),
        h('form', { class: 'filters', role: 'search', 'aria-label': 'Verdict filters', onsubmit: (e) => e.preventDefault() },
          filterSelect('f-control', 'Control', 'control', [['', 'all'], ...Object.keys(v.controls || {}).map((c) => [c, c])], controlF),
          filterSelect('f-verdict', 'Verdict', 'verdict', [['', 'any'], ['pass', 'pass'], ['fail', 'fail'], ['unknown', 'unknown'], ['not_applicable', 'not applicable']], statusF)),
        table('Per-control verdicts', ['Control', 'Verdict'], controls.map(([cid, cv]) => h('tr', {},
          td('Control', h('strong', { text: cid }), ' ', h('span', { class: 'muted', text: controlTitle(pol, cid) })), td('Verdict', badge(cv)))),
        { id: 'control-verdicts', showCaption: true }),
        table('Per-check verdicts', ['Check', 'Verdict', 'Observed', 'Provenance', 'Remediation'], checks.map((c) => {
          const pc = policyCheck(pol, c.id);
          const observed = c.observed !== undefined ? c.observed :
            pointerGet(latest.evidence, (pc.expr && pc.expr.pointer) || c.pointer);
          return h('tr', { class: 'check-row', 'data-check': c.id, 'data-verdict': c.verdict },
            td('Check', h('span', { class: 'mono', text: c.id }), h('div', { class: 'muted', text: pc.title || '' }),
              c.reason ? h('div', { text: c.reason }) : null),
            td('Verdict', badge(c.verdict), c.severity ? h('div', { class: 'muted', text: c.severity }) : null),
            td('Observed', h('span', { class: 'mono', text: observed === undefined ? '' : show(observed) }),
              c.pointer ? h('div', { class: 'mono muted', text: c.pointer }) : null),
            td('Provenance', c.provenance || ''),
            td('Remediation', c.verdict === 'pass' || c.verdict === 'not_applicable' ? '' :
              h('p', { class: 'remediation', text: pc.remediation || 'See the policy.' })));
        }), { id: 'check-verdicts', showCaption: true, empty: 'No check matches.' }));
    } else {
      verdictSection = h('p', { class: 'muted', text: 'This machine has not sent a verified report yet.' });
    }

    const opts = reports.map((r) => [r.id, `${when(r.received_at)} ${r.compliant ? 'compliant' : 'non-compliant'} (${r.id.slice(-6)})`]);
    const diffOut = h('div', { id: 'diff-result', 'aria-live': 'polite' });
    const diffForm = h('form', { class: 'filters', id: 'diff-form', 'aria-label': 'Compare two reports',
      onsubmit: async (e) => {
        e.preventDefault();
        const a = document.getElementById('diff-from').value;
        const b = document.getElementById('diff-to').value;
        diffOut.replaceChildren(h('p', { class: 'muted', text: 'Comparing…' }));
        try {
          renderDiff(diffOut, await api('/v1/reports/' + encodeURIComponent(a) + '/diff/' + encodeURIComponent(b)));
        } catch (ex) {
          diffOut.replaceChildren(h('p', { class: 'error', role: 'alert', text: ex.message }));
        }
      } },
    h('div', {}, h('label', { for: 'diff-from', text: 'Older report' }),
      h('select', { id: 'diff-from' }, opts.map(([v, t], i) => h('option', { value: v, selected: i === Math.min(1, opts.length - 1), text: t })))),
    h('div', {}, h('label', { for: 'diff-to', text: 'Newer report' }),
      h('select', { id: 'diff-to' }, opts.map(([v, t], i) => h('option', { value: v, selected: i === 0, text: t })))),
    h('button', { type: 'submit', id: 'diff-submit', text: 'Compare' }));

    view.replaceChildren(
      h('p', {}, h('a', { href: '#/fleet', text: '← Fleet' }), ' · ',
        h('a', { href: '#/vendor/' + encodeURIComponent(agent.vendor), text: 'Vendor ' + agent.vendor })),
      h('h2', { tabindex: '-1', text: 'Machine ' + ((agent.host && agent.host.hostname) || agent.id.slice(0, 12)) }),
      h('div', { class: 'grid' },
        h('section', { class: 'panel', 'aria-labelledby': 'identity-h' },
          h('h3', { id: 'identity-h', text: 'Identity' }), ident,
          h('h3', { text: 'Boot changes' }), bootList),
        h('section', { class: 'panel', 'aria-labelledby': 'history-h' },
          h('h3', { id: 'history-h', text: 'Compliance history' }),
          reports.length ? historyChart(reports) : h('p', { class: 'muted', text: 'No report yet.' }))),
      verdictSection,
      h('section', { 'aria-labelledby': 'diff-h' },
        h('h3', { id: 'diff-h', text: 'Compare two reports' }),
        reports.length >= 2 ? [diffForm, diffOut] : h('p', { class: 'muted', text: 'Two reports are needed.' })));
  }

  // ---- router ----
  async function render(opts) {
    const o = opts || {};
    const seq = ++renderSeq;
    if (!token()) {
      renderLogin();
      return;
    }
    document.getElementById('session').hidden = false;
    const { parts } = params();
    const active = document.activeElement && document.activeElement.id;
    try {
      if (parts[0] === 'vendor' && parts[1]) await renderVendor(parts[1]);
      else if (parts[0] === 'machine' && parts[1]) await renderMachine(parts[1]);
      else await renderFleet();
      if (seq !== renderSeq) return;
      document.getElementById('updated').textContent = 'Updated ' + when(new Date().toISOString());
      const again = active && document.getElementById(active);
      if (o.keepFocus && again) {
        again.focus();
        if (again.setSelectionRange && again.type === 'search') again.setSelectionRange(again.value.length, again.value.length);
      } else if (!o.refresh) {
        const h2 = view.querySelector('h2');
        if (h2) h2.focus();
      }
    } catch (e) {
      if (e.status === 401) {
        sessionStorage.removeItem(TOKEN_KEY);
        renderLogin('The token is no longer accepted; log in again.');
        return;
      }
      view.replaceChildren(h('h2', { tabindex: '-1', text: 'Error' }),
        h('p', { class: 'error', role: 'alert', text: `${e.message} (${e.code || 'error'})` }),
        h('p', {}, h('a', { href: '#/fleet', text: 'Back to the fleet' })));
    }
  }

  function scheduleRefresh() {
    clearInterval(refreshTimer);
    refreshTimer = null;
    if (!document.getElementById('auto-refresh').checked) return;
    refreshTimer = setInterval(() => {
      if (!token() || document.hidden) return;
      const a = document.activeElement;
      // do not pull the page from under someone typing or choosing
      if (a && view.contains(a) && /^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName)) return;
      if (document.getElementById('diff-result') && document.getElementById('diff-result').childElementCount) return;
      render({ refresh: true, keepFocus: true });
    }, REFRESH_MS);
  }

  document.getElementById('logout').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    policyCache = null;
    location.hash = '#/fleet';
    renderLogin();
  });
  document.getElementById('auto-refresh').addEventListener('change', scheduleRefresh);
  window.addEventListener('hashchange', () => render());
  scheduleRefresh();
  render();
})();
