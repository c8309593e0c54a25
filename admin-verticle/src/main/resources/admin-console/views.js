import { call } from './api.js';
import { el, clear, field, message, number } from './dom.js';

const STATUS = ['active', 'disabled', 'quota exceeded', 'expired'];
const PAGE = 20;

/** Each view renders into root and returns a function that stops what it started (timers). */
export const views = { keys, usage, backends, config };

function keys(root, fail) {
  let offset = 0;
  const search = el('input', { type: 'search', placeholder: 'name, user or key prefix', 'aria-label': 'Search keys' });
  const name = el('input', { type: 'text', 'data-testid': 'new-key-name', required: true, maxlength: 200 });
  const user = el('input', { type: 'text', maxlength: 200 });
  const quota = el('input', { type: 'number', min: 0, step: 1, placeholder: '0 = unlimited' });
  const created = el('div', { class: 'card', hidden: true, role: 'status' });
  const status = el('p', { role: 'alert' });
  const body = el('tbody');
  const pager = el('div', { class: 'row' });
  const dialog = el('dialog');

  const form = el('form', { class: 'card', onsubmit: (e) => { e.preventDefault(); create(); } },
    el('h2', {}, 'New key'),
    el('div', { class: 'row' }, field('Name', name), field('User', user), field('Total quota (tokens)', quota),
      el('div', {}, el('button', { type: 'submit', 'data-testid': 'create-key' }, 'Create key'))));
  let searchTimer;
  search.addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(() => { offset = 0; load(); }, 250); });
  root.append(form, created, status,
    el('div', { class: 'row' }, field('Search', search)),
    el('div', { class: 'table-wrap' }, el('table', { 'data-testid': 'keys-table' },
      el('thead', {}, el('tr', {}, ['Name', 'User', 'Key', 'Status', 'Quota used / total', 'Expires', 'RPM / TPM', 'Actions']
        .map(h => el('th', { scope: 'col' }, h)))), body)),
    pager, dialog);

  async function create() {
    const request = { name: name.value.trim() };
    if (user.value.trim()) request.user_id = user.value.trim();
    if (quota.value !== '') request.total_quota = Number(quota.value);
    try {
      const record = await call('keys/create', request);
      const secret = el('code', { class: 'secret', 'data-testid': 'created-key' }, record.key);
      const copy = el('button', { type: 'button', class: 'secondary', onclick: async () => {
        try { await navigator.clipboard.writeText(record.key); copy.textContent = 'Copied'; }
        catch (e) { getSelection().selectAllChildren(secret); copy.textContent = 'Selected: press Ctrl+C'; }
      } }, 'Copy');
      clear(created).append(el('h2', {}, 'Key created: ', record.name || ''),
        el('p', { class: 'warning' }, 'Copy this key now: it will not be shown again (the gateway keeps only its hash).'),
        el('p', {}, secret, ' ', copy),
        el('button', { type: 'button', class: 'secondary', onclick: () => { created.hidden = true; clear(created); } }, 'Done'));
      created.hidden = false;
      form.reset();
      message(status, '', '');
      offset = 0;
      await load();
      copy.focus();
    } catch (e) { message(status, e.message, 'error'); }
  }

  async function act(what, request, done) {
    try {
      await call('keys/' + what, request);
      message(status, done, 'ok');
      await load();
    } catch (e) { message(status, e.message, 'error'); }
  }

  function row(key) {
    const id = { key_hash: key.key_hash };
    const used = Number(key.used_quota || 0), total = Number(key.total_quota || 0);
    const bar = el('span');
    bar.style.width = total > 0 ? Math.min(100, 100 * used / total) + '%' : '0';
    const label = key.name || key.key;
    return el('tr', {},
      el('td', {}, key.name || ''),
      el('td', {}, key.user_id || ''),
      el('td', {}, el('code', {}, key.key || '')),
      el('td', {}, STATUS[key.status] ?? String(key.status)),
      el('td', {}, number(used) + ' / ' + (total > 0 ? number(total) : 'unlimited'),
        total > 0 ? el('div', { class: 'bar', role: 'img', 'aria-label': Math.round(100 * used / total) + '% used' }, bar) : null),
      el('td', {}, key.expires_at || 'never'),
      el('td', {}, (key.rpm ?? '–') + ' / ' + (key.tpm ?? '–')),
      el('td', {}, el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'secondary', onclick: () => edit(key) }, 'Edit'),
        key.status === 1
          ? el('button', { type: 'button', class: 'secondary', 'data-action': 'enable',
              onclick: () => act('update', { ...id, status: 'active' }, 'Enabled ' + label) }, 'Enable')
          : el('button', { type: 'button', class: 'secondary', 'data-action': 'disable',
              onclick: () => act('update', { ...id, status: 'disabled' }, 'Disabled ' + label) }, 'Disable'),
        el('button', { type: 'button', class: 'secondary', onclick: () => act('reset_quota', id, 'Quota reset for ' + label) }, 'Reset quota'),
        el('button', { type: 'button', class: 'danger', onclick: () => {
          if (confirm('Delete key ' + label + '? Clients using it are refused at once.')) act('delete', id, 'Deleted ' + label);
        } }, 'Delete'))));
  }

  function edit(key) {
    const inputs = {
      name: el('input', { type: 'text', value: key.name ?? '' }),
      user_id: el('input', { type: 'text', value: key.user_id ?? '' }),
      total_quota: el('input', { type: 'number', min: 0, value: key.total_quota ?? 0 }),
      expires_at: el('input', { type: 'text', value: key.expires_at ?? '', placeholder: '2030-01-31T00:00:00Z or empty' }),
      rpm: el('input', { type: 'number', min: 0, value: key.rpm ?? '' }),
      tpm: el('input', { type: 'number', min: 0, value: key.tpm ?? '' }),
      status: el('select', {}, STATUS.map((s, i) => el('option', { value: i, selected: key.status === i }, s))),
    };
    const error = el('p', { role: 'alert', class: 'error' });
    clear(dialog).append(el('form', { method: 'dialog', onsubmit: async (e) => {
      e.preventDefault();
      const request = { key_hash: key.key_hash, name: inputs.name.value, user_id: inputs.user_id.value || null,
        total_quota: Number(inputs.total_quota.value || 0), expires_at: inputs.expires_at.value.trim() || null,
        rpm: inputs.rpm.value === '' ? null : Number(inputs.rpm.value),
        tpm: inputs.tpm.value === '' ? null : Number(inputs.tpm.value), status: Number(inputs.status.value) };
      try {
        await call('keys/update', request);
        dialog.close();
        message(status, 'Updated ' + (request.name || key.key), 'ok');
        await load();
      } catch (err) { message(error, err.message, 'error'); }
    } },
      el('h2', {}, 'Edit key ', key.key || ''),
      field('Name', inputs.name), field('User', inputs.user_id), field('Total quota (0 = unlimited)', inputs.total_quota),
      field('Expires at (RFC 3339)', inputs.expires_at), field('Requests per minute', inputs.rpm),
      field('Tokens per minute', inputs.tpm), field('Status', inputs.status), error,
      el('div', { class: 'row' }, el('button', { type: 'submit' }, 'Save'),
        el('button', { type: 'button', class: 'secondary', onclick: () => dialog.close() }, 'Cancel'))));
    dialog.showModal();
  }

  async function load() {
    try {
      const page = await call('keys/list', { offset, limit: PAGE, search: search.value });
      clear(body).append(...page.keys.map(row));
      if (page.keys.length === 0) body.append(el('tr', {}, el('td', { colspan: 8 }, 'No keys.')));
      const last = Math.min(offset + PAGE, page.total);
      clear(pager).append(
        el('button', { type: 'button', class: 'secondary', disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE); load(); } }, 'Previous'),
        el('span', {}, page.total === 0 ? '0 keys' : (offset + 1) + '–' + last + ' of ' + page.total),
        el('button', { type: 'button', class: 'secondary', disabled: last >= page.total, onclick: () => { offset += PAGE; load(); } }, 'Next'));
    } catch (e) { fail(e, status); }
  }
  load();
  return () => clearTimeout(searchTimer);
}

function usage(root, fail) {
  const key = el('input', { type: 'text', placeholder: 'plain key or key hash' });
  const user = el('input', { type: 'text' });
  const model = el('input', { type: 'text' });
  const status = el('p', { role: 'alert' });
  const out = el('div');
  let lastRows = [];
  root.append(el('form', { class: 'card', onsubmit: (e) => { e.preventDefault(); load(); } },
    el('h2', {}, 'Usage, last 30 days (UTC)'),
    el('div', { class: 'row' }, field('Key', key), field('User', user), field('Model', model),
      el('div', {}, el('button', { type: 'submit' }, 'Apply')),
      el('div', {}, el('button', { type: 'button', class: 'secondary', onclick: () => csv(lastRows) }, 'Export CSV')))),
    status, out);

  async function load() {
    const end = new Date();
    const start = new Date(end.getTime() - 29 * 86400000);
    const query = { start: start.toISOString().slice(0, 10), end: end.toISOString().slice(0, 10) };
    if (key.value.trim()) query.key = key.value.trim();
    if (user.value.trim()) query.user_id = user.value.trim();
    if (model.value.trim()) query.model = model.value.trim();
    try {
      const [days, byKey, byModel] = await Promise.all(['day', 'key', 'model']
        .map(group_by => call('usage/query', { ...query, group_by })));
      const daily = fill(days.groups, start);
      lastRows = daily;
      const t = days.totals;
      clear(out).append(
        el('div', { class: 'card' }, el('h2', {}, 'Totals'),
          el('p', {}, number(t.requests) + ' requests, ' + number(t.total_tokens) + ' tokens (' + number(t.prompt_tokens)
            + ' prompt, ' + number(t.completion_tokens) + ' completion)')),
        el('div', { class: 'card' }, el('h2', {}, 'Per day'), chart(daily)),
        top('Top keys', byKey.groups, g => (g.key_name ? g.key_name + ' ' : '') + (g.key || g.key_hash || '')),
        top('Top models', byModel.groups, g => g.model ?? '(none)'));
      message(status, '', '');
    } catch (e) { fail(e, status); }
  }

  function fill(groups, start) {
    const byDay = new Map(groups.map(g => [g.day, g]));
    const rows = [];
    for (let i = 0; i < 30; i++) {
      const day = new Date(start.getTime() + i * 86400000).toISOString().slice(0, 10);
      const g = byDay.get(day) || {};
      rows.push({ day, requests: g.requests || 0, prompt_tokens: g.prompt_tokens || 0,
        completion_tokens: g.completion_tokens || 0, total_tokens: g.total_tokens || 0 });
    }
    return rows;
  }

  function top(title, groups, label) {
    const sorted = [...groups].sort((a, b) => b.total_tokens - a.total_tokens).slice(0, 10);
    return el('div', { class: 'card' }, el('h2', {}, title), el('div', { class: 'table-wrap' }, el('table', {},
      el('thead', {}, el('tr', {}, el('th', {}, 'Name'), el('th', { class: 'num' }, 'Requests'), el('th', { class: 'num' }, 'Tokens'))),
      el('tbody', {}, sorted.length === 0 ? el('tr', {}, el('td', { colspan: 3 }, 'No usage.')) : sorted.map(g => el('tr', {},
        el('td', {}, label(g)), el('td', { class: 'num' }, number(g.requests)), el('td', { class: 'num' }, number(g.total_tokens))))))));
  }

  load();
  return () => {};
}

/** Tokens per day as bars, requests as a line: plain SVG, no library. */
function chart(rows) {
  const w = 600, h = 200, pad = 30, bw = (w - 2 * pad) / rows.length;
  const maxTokens = Math.max(1, ...rows.map(r => r.total_tokens));
  const maxRequests = Math.max(1, ...rows.map(r => r.requests));
  const svg = el('svg:svg', { class: 'chart', viewBox: `0 0 ${w} ${h}`, role: 'img', 'data-testid': 'usage-chart',
    'aria-label': 'Tokens (bars) and requests (line) per day' });
  rows.forEach((r, i) => {
    const bh = (h - 2 * pad) * r.total_tokens / maxTokens;
    svg.append(el('svg:rect', { class: 'tokens', x: pad + i * bw + 1, y: h - pad - bh, width: Math.max(1, bw - 2), height: bh },
      el('svg:title', {}, `${r.day}: ${r.total_tokens} tokens, ${r.requests} requests`)));
  });
  const points = rows.map((r, i) => `${pad + i * bw + bw / 2},${h - pad - (h - 2 * pad) * r.requests / maxRequests}`);
  svg.append(el('svg:polyline', { class: 'requests', points: points.join(' ') }),
    el('svg:text', { x: pad, y: h - 8 }, rows[0].day), el('svg:text', { x: w - pad, y: h - 8, 'text-anchor': 'end' }, rows[rows.length - 1].day),
    el('svg:text', { x: 2, y: pad - 10 }, `max ${maxTokens} tokens, ${maxRequests} requests`));
  return svg;
}

function csv(rows) {
  const fields = ['day', 'requests', 'prompt_tokens', 'completion_tokens', 'total_tokens'];
  const text = [fields.join(','), ...rows.map(r => fields.map(f => r[f]).join(','))].join('\n') + '\n';
  const link = el('a', { href: URL.createObjectURL(new Blob([text], { type: 'text/csv' })), download: 'usage.csv' });
  document.body.append(link);
  link.click();
  link.remove();
}

function backends(root, fail) {
  const status = el('p', { role: 'alert' });
  const body = el('tbody');
  const stamp = el('p', {});
  root.append(el('div', { class: 'card' }, el('h2', {}, 'Backends'), stamp, status,
    el('div', { class: 'table-wrap' }, el('table', { 'data-testid': 'backends-table' },
      el('thead', {}, el('tr', {}, ['Name', 'URL', 'Health', 'In flight', 'Ejected', 'Latency (ms)', 'Engine']
        .map(h => el('th', { scope: 'col' }, h)))), body))));
  async function load() {
    try {
      const data = await call('backends');
      clear(body).append(...data.backends.map(b => el('tr', {},
        el('td', {}, b.name ?? ''), el('td', {}, b.url ?? ''),
        el('td', {}, b.healthy === false ? 'unhealthy' : b.healthy === true ? 'healthy' : 'unknown'),
        el('td', { class: 'num' }, b.in_flight ?? ''), el('td', {}, b.ejected ? 'yes' : 'no'),
        el('td', { class: 'num' }, b.latency_ms ?? ''),
        el('td', {}, b.engine_load ? Object.entries(b.engine_load).map(([k, v]) => k + ': ' + v).join(', ') : ''))));
      if (data.backends.length === 0) body.append(el('tr', {}, el('td', { colspan: 7 }, 'No backends.')));
      stamp.textContent = 'Updated ' + new Date().toLocaleTimeString() + (data.live_stats ? '' : ' (no live view from a proxy)');
      message(status, '', '');
    } catch (e) { fail(e, status); }
  }
  load();
  const timer = setInterval(load, 3000);
  return () => clearInterval(timer);
}

function config(root, fail) {
  const status = el('p', { role: 'alert' });
  const result = el('pre', { hidden: true, 'data-testid': 'reload-result' });
  const shown = el('pre', {});
  root.append(el('div', { class: 'card' }, el('h2', {}, 'Running config (secrets redacted)'),
    el('div', { class: 'row' }, el('button', { type: 'button', 'data-testid': 'reload-config', onclick: reload }, 'Reload config from file')),
    status, result), shown);
  async function load() {
    try {
      shown.textContent = JSON.stringify(await call('config'), null, 2);
    } catch (e) { fail(e, status); }
  }
  async function reload() {
    message(status, 'Reloading…', '');
    try {
      const data = await call('config/reload', {});
      message(status, 'Reloaded.', 'ok');
      result.textContent = JSON.stringify(data, null, 2);
      result.hidden = false;
      await load();
    } catch (e) {
      fail(e, status);
      result.textContent = e.message;
      result.hidden = false;
    }
  }
  load();
  return () => {};
}
