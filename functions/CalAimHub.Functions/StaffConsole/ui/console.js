// The staff console: one small module, no framework. Each hash route (#/today, #/authorizations, #/authorizations/{id},
// #/referrals, #/files, #/disclosures, #/invoices, #/outbound, #/operations) renders into <main> from the staff API; a route the hub does not serve yet (404 from
// the API fallback) shows a "not available" note instead of breaking the page. Text goes in with textContent only.

const view = document.getElementById('view');
const title = document.getElementById('page-title');
const who = document.getElementById('who');

const pacific = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/Los_Angeles', year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit',
});
const pacificDate = new Intl.DateTimeFormat('en-US', { timeZone: 'America/Los_Angeles', year: 'numeric', month: 'short', day: 'numeric' });
const percent = new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 1 });
const number = new Intl.NumberFormat('en-US');

const workflowNames = { authorization: 'Authorizations', referral: 'Referrals' };
const statusNames = {
  'in-review': 'In review', 'pending-information': 'Pending information', authorized: 'Authorized', denied: 'Denied', expired: 'Expired',
};

let me = null; // { name, roles } once known; null while unknown or not available
let charts = []; // Chart.js instances of the current page, destroyed on navigation
let renderToken = 0;

// ---------------------------------------------------------------------------------------------------------------
// Staff API

class ApiError extends Error {
  constructor(status, problem, path) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.path = path;
  }

  /** The route itself is missing (the API fallback's 404), not an item: the page says the feature is not available. */
  get unavailable() { return this.status === 404 && this.problem?.title === 'No such API'; }
}

async function api(path, { method = 'GET', body, accept = 'application/json' } = {}) {
  const headers = { Accept: accept };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const type = response.headers.get('Content-Type') || '';
  const json = type.includes('json') && response.status !== 204 ? await response.json() : null;
  if (!response.ok) throw new ApiError(response.status, json, path);
  return json;
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

const hasRole = (role) => Boolean(me?.roles?.includes(role));

// ---------------------------------------------------------------------------------------------------------------
// Building the page (no innerHTML with data: every value goes through textContent or an attribute)

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const section = (heading, ...children) => el('section', { class: 'panel', 'aria-labelledby': idOf(heading) }, el('h2', { id: idOf(heading) }, heading), ...children);
const idOf = (text) => 'h-' + text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

function time(value, format = pacific) {
  if (!value) return el('span', { class: 'muted' }, '—');
  return el('time', { datetime: value }, format.format(new Date(value)));
}

function table(caption, columns, rows, empty = 'Nothing to show.') {
  if (!rows.length) return el('p', { class: 'muted' }, empty);
  return el('div', { class: 'table-scroll' }, el('table', {},
    el('caption', { class: caption ? '' : 'visually-hidden' }, caption || 'Results'),
    el('thead', {}, el('tr', {}, columns.map((c) => el('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
    el('tbody', {}, rows.map((row) => el('tr', {}, columns.map((c, i) => {
      const value = c.value(row);
      const cell = i === 0 && c.header !== false ? 'th' : 'td';
      return el(cell, { class: c.num ? 'num' : null, scope: cell === 'th' ? 'row' : null }, value);
    }))))));
}

function notice(kind, text) {
  return el('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** What a failed call shows: "not available" for a missing route, the problem's words otherwise. */
function failure(error, what) {
  if (error instanceof ApiError && error.unavailable) {
    return notice('unavailable', `${what} is not available on this hub yet (${error.path.split('?')[0]} answered 404).`);
  }
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
    return notice('error', `${what}: ${error.status === 401 ? 'sign in first' : 'your role does not allow this'} (${error.message}).`);
  }
  return notice('error', `${what} could not be loaded: ${error.message}`);
}

/** Loads one part of a page; a failure shows in its place and does not stop the other parts. */
async function part(container, what, load) {
  container.append(el('p', { class: 'muted', 'data-loading': true }, `Loading ${what.toLowerCase()}…`));
  try {
    const content = await load();
    container.querySelector('[data-loading]')?.remove();
    if (content) container.append(content);
  } catch (error) {
    container.querySelector('[data-loading]')?.remove();
    container.append(failure(error, what));
  }
}

function badge(breached, text) {
  return el('span', { class: `badge ${breached ? 'breached' : 'due'}` }, text ?? (breached ? 'Breached' : 'Due'));
}

// ---------------------------------------------------------------------------------------------------------------
// Charts (Chart.js from the pinned npm package, served by the hub); each chart has its data as a table beside it.

function chart(label, config, dataTable) {
  const canvas = el('canvas', { role: 'img', 'aria-label': label });
  const box = el('div', { class: 'chart' }, canvas);
  const wrapper = el('figure', { class: 'figure', style: null }, box, el('details', { class: 'data-table' }, el('summary', {}, `${label}: data table`), dataTable));
  if (window.Chart) {
    // Drawn on the next task, once part() has put the canvas in the document (Chart.js measures its parent).
    setTimeout(() => charts.push(new window.Chart(canvas, {
      ...config,
      options: { responsive: true, maintainAspectRatio: false, animation: false, ...config.options },
    })));
  } else {
    box.replaceChildren(notice('unavailable', 'The chart library did not load; the data table below has the figures.'));
  }
  return wrapper;
}

const palette = ['#0b4f8a', '#b35c00', '#1b6b2f', '#6a3d9a', '#a3121a', '#00727a'];

// ---------------------------------------------------------------------------------------------------------------
// Pages

async function today(container) {
  const data = await api('/api/console/today');
  const countsList = el('ul', { class: 'counts', 'aria-label': 'Deadlines by workflow type' }, data.byType.map((t) => el('li', { class: `count${t.breached ? ' breached' : ''}` },
    el('div', { class: 'type' }, workflowNames[t.workflowType] ?? t.workflowType),
    el('dl', {},
      el('dt', {}, 'Breached'), el('dd', { class: t.breached ? 'late' : null, 'data-count': 'breached' }, number.format(t.breached)),
      el('dt', {}, 'Due in 24 hours'), el('dd', { 'data-count': 'next24h' }, number.format(t.dueNext24h)),
      el('dt', {}, 'Due in 5 working days'), el('dd', { 'data-count': 'next5' }, number.format(t.dueNext5WorkingDays))))));
  const columns = [
    { label: 'Item', value: (d) => el('a', { href: d.link }, d.instanceId) },
    { label: 'Type', value: (d) => workflowNames[d.workflowType] ?? d.workflowType },
    { label: 'Deadline', value: (d) => d.deadline },
    { label: 'Due', value: (d) => time(d.dueAt) },
    { label: 'State', value: (d) => badge(d.breached) },
  ];
  container.append(
    el('p', { class: 'muted' }, 'As of ', time(data.asOf), '.'),
    countsList,
    section('Breached', table('Breached deadlines, oldest first', columns, data.breached, 'No deadline is breached.')),
    section('Due in the next 24 hours', table('Deadlines due in the next 24 hours', columns, data.dueNext24h, 'Nothing is due in the next 24 hours.')));
}

async function breachTrend() {
  const data = await api('/api/console/breaches/weekly?weeks=12');
  const weeks = [...new Set(data.weeks.map((w) => w.weekStart))].sort();
  const types = [...new Set(data.weeks.map((w) => w.workflowType))].sort();
  const count = (week, type) => data.weeks.find((w) => w.weekStart === week && w.workflowType === type)?.breaches ?? 0;
  const rows = weeks.map((week) => ({ week, values: types.map((type) => count(week, type)) }));
  return chart('Breaches per week, last 12 weeks', {
    type: 'bar',
    data: { labels: weeks, datasets: types.map((type, i) => ({ label: workflowNames[type] ?? type, data: weeks.map((w) => count(w, type)), backgroundColor: palette[i % palette.length] })) },
    options: { scales: { x: { stacked: true, title: { display: true, text: 'Week starting' } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'Breaches' } } } },
  }, table('Breaches per week', [{ label: 'Week starting', value: (r) => r.week }, ...types.map((type, i) => ({ label: workflowNames[type] ?? type, num: true, value: (r) => number.format(r.values[i]) }))], rows, 'No breaches in the last 12 weeks.'));
}

async function renderToday() {
  setTitle('Today');
  const counts = el('div');
  const trend = section('Breaches per week');
  view.append(counts, trend);
  await Promise.all([part(counts, 'Today\'s deadlines', () => today(counts)), part(trend, 'The weekly breach trend', breachTrend)]);
}

// Code sets for the filters come from the OpenAPI document: the same lists the API checks against.
let codeSets;
async function loadCodeSets() {
  if (codeSets) return codeSets;
  try {
    const contract = await api('/api/openapi.json');
    const resolve = (schema) => (schema?.$ref ? contract.components.schemas[schema.$ref.split('/').pop()] : schema);
    const body = resolve(contract.paths['/api/authorizations'].post.requestBody.content['application/json'].schema);
    const service = resolve(body.properties.service).properties;
    codeSets = { services: ['ecm', ...(service.services?.items?.enum ?? [])], populations: service.populationsOfFocus?.items?.enum ?? [] };
  } catch {
    codeSets = { services: ['ecm'], populations: [] };
  }
  return codeSets;
}

function selectField(name, label, options, value) {
  const id = `filter-${name}`;
  return el('div', { class: 'field' }, el('label', { for: id }, label),
    el('select', { id, name }, el('option', { value: '' }, 'Any'), options.map(([v, text]) => el('option', { value: v, selected: v === value }, text))));
}

function inputField(name, label, type, value, extra = {}) {
  const id = `filter-${name}`;
  return el('div', { class: 'field' }, el('label', { for: id }, label), el('input', { id, name, type, value: value ?? '', ...extra }));
}

async function renderAuthorizations(params) {
  setTitle('Authorizations');
  const sets = await loadCodeSets();
  const dueDate = params.get('dueBefore') ? params.get('dueBefore').slice(0, 10) : '';
  const form = el('form', { class: 'filters', 'aria-label': 'Filter authorizations' },
    selectField('status', 'Status', Object.entries(statusNames), params.get('status') ?? ''),
    selectField('service', 'Service', sets.services.map((s) => [s, s]), params.get('service') ?? ''),
    selectField('pof', 'Population of Focus', sets.populations.map((p) => [p, p]), params.get('pof') ?? ''),
    inputField('dueBefore', 'Due before', 'date', dueDate),
    selectField('breached', 'Breached', [['true', 'Breached only'], ['false', 'Not breached']], params.get('breached') ?? ''),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Apply filters'), el('a', { href: '#/authorizations' }, 'Clear')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const due = data.get('dueBefore');
    location.hash = '#/authorizations' + query({
      status: data.get('status'), service: data.get('service'), pof: data.get('pof'),
      dueBefore: due ? `${due}T00:00:00Z` : '', breached: data.get('breached'),
    });
  });
  const results = el('div', { 'aria-live': 'polite' });
  view.append(el('section', { class: 'panel', 'aria-label': 'Filters' }, form), results);
  const filters = {
    status: params.get('status'), service: params.get('service'), pof: params.get('pof'), dueBefore: params.get('dueBefore'), breached: params.get('breached'),
  };
  await part(results, 'The authorization list', () => authorizationPage(filters, null));
}

async function authorizationPage(filters, continuation) {
  const data = await api('/api/authorizations' + query({ ...filters, top: 50, continuation }));
  const rows = data.items;
  const fragment = el('div', {},
    table(`Authorizations${continuation ? ' (next page)' : ''}, soonest deadline first`, [
      { label: 'Authorization', value: (a) => el('a', { href: `#/authorizations/${encodeURIComponent(a.authorizationId)}` }, a.authorizationId) },
      { label: 'Status', value: (a) => statusNames[a.status] ?? a.status },
      { label: 'Services', value: (a) => a.services.join(', ') },
      { label: 'Next deadline', value: (a) => a.nextDeadline ? [time(a.nextDeadline), ' ', a.breached || new Date(a.nextDeadline) < new Date(a.asOf) ? badge(true) : ''] : time(null) },
      { label: 'Received', value: (a) => time(a.receivedAt) },
      { label: 'Escalated', value: (a) => (a.escalated ? 'Yes' : 'No') },
    ], rows, 'No authorization matches these filters.'));
  if (data.continuation) {
    const more = el('button', { type: 'button', class: 'secondary' }, 'Next page');
    more.addEventListener('click', async () => {
      more.disabled = true;
      const next = el('div');
      fragment.append(next);
      await part(next, 'The next page', () => authorizationPage(filters, data.continuation));
      more.remove();
    });
    fragment.append(el('div', { class: 'actions' }, more));
  }
  return fragment;
}

const timelineNames = {
  received: () => 'Request received',
  due: (name) => `${reviewName(name)} decision due`,
  extended: (name) => `${reviewName(name)} review extended to 14 days`,
  decided: (name) => `${reviewName(name)} decided`,
  noticeDue: () => 'Written notices due',
  noticeSent: () => 'Written notices sent',
};
const reviewName = (name) => (name === 'decision' || name === 'initial' ? 'Initial' : name.replace(/-decision$/, '').replace(/-/g, ' ').replace(/^./, (c) => c.toUpperCase()));

/** The timeline's points: the API's timeline (received, due, extended, decided, notices), a due point marked breached
 * when its clock is; without a timeline (an older hub) the clocks' own start, due and stop times. */
function timelinePoints(authorization) {
  const breachedClocks = new Set((authorization.clocks ?? []).filter((c) => c.breached).map((c) => c.id));
  if (Array.isArray(authorization.timeline)) {
    return authorization.timeline.map((p) => ({
      name: (timelineNames[p.kind] ?? (() => p.kind))(p.name), at: p.at, kind: p.kind,
      breached: (p.kind === 'due' || p.kind === 'noticeDue') && breachedClocks.has(p.name),
    }));
  }
  const points = [];
  if (authorization.request?.receivedAt) points.push({ name: 'Request received', at: authorization.request.receivedAt, kind: 'received' });
  for (const clock of authorization.clocks ?? []) {
    if (clock.kind === 'period') continue;
    const notices = clock.kind === 'notices';
    points.push({ name: notices ? 'Written notices due' : 'Decision due', at: clock.dueAt, kind: notices ? 'noticeDue' : 'due', breached: clock.breached });
    if (clock.satisfiedAt) points.push({ name: notices ? 'Written notices sent' : 'Decided', at: clock.satisfiedAt, kind: notices ? 'noticeSent' : 'decided' });
  }
  return points;
}

async function renderAuthorization(id) {
  setTitle(`Authorization ${id}`);
  const holder = el('div');
  view.append(el('p', {}, el('a', { href: '#/authorizations' }, '← All authorizations')), holder);
  await part(holder, 'The authorization', async () => {
    const [a] = await Promise.all([api(`/api/authorizations/${encodeURIComponent(id)}`), signedIn]);
    const request = a.request ?? {};
    const service = request.service ?? {};
    const points = [...timelinePoints(a), { name: 'Now', at: a.asOf, kind: 'now' }, ...(a.period ? [{ name: 'Authorized period ends', at: a.period.endsAt, kind: 'period' }] : [])]
      .sort((x, y) => new Date(x.at) - new Date(y.at));
    const content = el('div', {},
      el('div', { class: 'grid-2' },
        section('Summary', el('dl', { class: 'facts' },
          el('dt', {}, 'Status'), el('dd', { 'data-field': 'status' }, statusNames[a.status] ?? a.status),
          el('dt', {}, 'Workflow'), el('dd', {}, a.runtimeStatus),
          el('dt', {}, 'Program'), el('dd', {}, service.program === 'ecm' ? 'Enhanced Care Management' : 'Community Supports'),
          el('dt', {}, service.program === 'ecm' ? 'Populations of Focus' : 'Services'), el('dd', {}, ((service.program === 'ecm' ? service.populationsOfFocus : service.services) ?? []).join(', ') || '—'),
          el('dt', {}, 'Urgency'), el('dd', {}, urgencyOf(request)),
          el('dt', {}, 'Requesting provider'), el('dd', {}, request.requestingProviderNpi ?? '—'),
          el('dt', {}, 'Referring entity'), el('dd', {}, request.referringEntity ?? '—'),
          el('dt', {}, 'Received'), el('dd', {}, time(request.receivedAt)),
          el('dt', {}, 'Escalated'), el('dd', {}, a.escalated ? 'Yes' : 'No'),
          a.pendReason ? [el('dt', {}, 'Pend reason'), el('dd', {}, a.pendReason)] : null,
          a.period ? [el('dt', {}, 'Authorized period'), el('dd', {}, time(a.period.startsAt, pacificDate), ' – ', time(a.period.endsAt, pacificDate))] : null)),
        section('Clocks', el('ol', { class: 'timeline', 'aria-label': 'Clocks in time order' }, points.map((p) => el('li', { class: `kind-${p.kind}${p.breached ? ' breached' : ''}${p.kind === 'now' ? ' now' : ''}` },
          time(p.at), ' ', p.name, p.breached ? [' ', badge(true)] : null))))),
      decisionActions(a),
      section('History', table('Workflow history', [
        { label: '#', num: true, value: (h) => String(h.seq) },
        { label: 'Event', value: (h) => h.name },
        { label: 'Recorded', value: (h) => time(h.recordedAt) },
        { label: 'By', value: (h) => h.by?.name ?? '—' },
        { label: 'Details', value: (h) => (h.data ? el('details', {}, el('summary', {}, 'Data'), el('pre', { class: 'data' }, JSON.stringify(h.data, null, 2))) : '') },
      ], a.history ?? [], 'No history.')));
    return content;
  });
}

/** The workflow state stores urgency as its enum (0 routine, 1 expedited); a later API may send the name. */
function urgencyOf(request) {
  const value = request?.urgency;
  return value === 1 || value === 'expedited' ? 'expedited' : value === 0 || value === 'routine' ? 'routine' : '—';
}

function decisionActions(a) {
  const open = a.status === 'in-review' || a.status === 'pending-information' || a.reauthorization === 'in-review' || a.reauthorization === 'pending-information';
  if (!open) return null;
  if (!hasRole('decider')) {
    return section('Decision', el('p', { class: 'muted', 'data-testid': 'no-decider' }, me
      ? 'Deciding needs the decider role; you can read this authorization.'
      : 'Who you are is not known (GET /api/console/me is not available), so no decision actions are offered.'));
  }
  const status = el('div', { 'aria-live': 'polite' });
  const decision = el('form', { 'aria-label': 'Decide' },
    el('fieldset', {}, el('legend', {}, 'Outcome'),
      ['approve', 'deny', 'pend'].map((o) => el('label', {}, el('input', { type: 'radio', name: 'outcome', value: o, required: true }), ' ', o[0].toUpperCase() + o.slice(1)))),
    el('div', { class: 'field' }, el('label', { for: 'decision-reason' }, 'Reason (required to deny or pend)'), el('textarea', { id: 'decision-reason', name: 'reason', maxlength: 1000 })),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Record decision')));
  decision.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(decision);
    submit(status, `/api/authorizations/${encodeURIComponent(a.authorizationId)}/decision`,
      { outcome: data.get('outcome'), reason: data.get('reason') || undefined, decidedBy: me?.name }, 'Decision recorded.');
  });
  const extension = el('form', { 'aria-label': 'Extend the review' },
    el('div', { class: 'field' }, el('label', { for: 'extension-reason' }, 'Why more time is needed'), el('textarea', { id: 'extension-reason', name: 'reason', required: true, maxlength: 1000 })),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'secondary' }, 'Extend to 14 days')));
  extension.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(extension);
    submit(status, `/api/authorizations/${encodeURIComponent(a.authorizationId)}/extension`, { reason: data.get('reason'), extendedBy: me?.name }, 'Review extended.');
  });
  return section('Decision', el('div', { class: 'grid-2' }, decision, urgencyOf(a.request) === 'expedited' ? null : extension), status);
}

/** A command from a form: the answer (or the problem) is announced, and the page reloads its data on success. */
async function submit(status, path, body, done, method = 'POST') {
  status.replaceChildren(el('p', { class: 'muted' }, 'Sending…'));
  try {
    await api(path, { method, body });
    sessionStorage.setItem('console-flash', done);
    await route();
  } catch (error) {
    status.replaceChildren(notice('error', error instanceof ApiError && error.status === 403 ? `Refused: ${error.message}` : `Not done: ${error.message}`));
  }
}

/** A calendar date (yyyy-MM-dd) as written, not shifted by a time zone. */
const calendarDate = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', year: 'numeric', month: 'short', day: 'numeric' });
const day = (value) => el('time', { datetime: value }, calendarDate.format(new Date(`${value}T00:00:00Z`)));

async function renderReferrals(params) {
  setTitle('Closed-loop referrals');
  // Without a chosen period the hub's own default (the last 30 days by its clock) applies; the fields then show it.
  const from = params.get('from') || '';
  const to = params.get('to') || '';
  const olderThan = params.get('olderThanDays') || '14';
  const form = el('form', { class: 'filters', 'aria-label': 'Referral period' },
    inputField('from', 'From', 'date', from),
    inputField('to', 'To', 'date', to),
    inputField('olderThanDays', 'Open longer than (days)', 'number', olderThan, { min: 0, max: 3650, required: true }),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Show')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    location.hash = '#/referrals' + query({ from: data.get('from'), to: data.get('to'), olderThanDays: data.get('olderThanDays') });
  });
  const funnel = section('Funnel');
  const providers = section('Receiving providers');
  const entities = section('Referring entities');
  const open = section(`Open referrals older than ${olderThan} days`);
  view.append(el('section', { class: 'panel', 'aria-label': 'Period' }, form), el('div', { class: 'grid-2' }, funnel, providers), entities, open);
  const period = query({ from, to });
  await Promise.all([
    part(funnel, 'The referral funnel', async () => {
      const f = await api('/api/console/referrals/funnel' + period);
      form.elements.from.value ||= f.from;
      form.elements.to.value ||= f.to;
      const steps = [['Pending', f.pending], ['Accepted', f.accepted], ['Outreach Initiated', f.outreachInitiated], ['Loop Closed', f.loopClosed], ['Declined', f.declined], ['Escalated', f.escalated]];
      return el('div', { 'data-testid': 'funnel' },
        el('p', {}, `${number.format(f.total)} referrals opened from `, day(f.from), ' to ', day(f.to), '.'),
        chart('Referral funnel', {
          type: 'bar',
          data: { labels: steps.map((s) => s[0]), datasets: [{ label: 'Referrals', data: steps.map((s) => s[1]), backgroundColor: steps.map((_, i) => (i < 4 ? palette[0] : i === 4 ? palette[4] : palette[1])) }] },
          options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
        }, table('Referral funnel', [{ label: 'Step', value: (s) => s[0] }, { label: 'Referrals', num: true, value: (s) => number.format(s[1]) }], steps)));
    }),
    part(providers, 'The provider table', async () => {
      const p = await api('/api/console/referrals/providers' + query({ from, to, top: 50 }));
      const top = p.items.slice(0, 12);
      return el('div', {},
        top.length ? chart('Acceptance rate by receiving provider', {
          type: 'bar',
          data: { labels: top.map((i) => i.providerName || i.providerNpi), datasets: [{ label: 'Acceptance rate (%)', data: top.map((i) => Math.round(i.acceptanceRate * 1000) / 10), backgroundColor: palette[2] }] },
          options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { min: 0, max: 100, title: { display: true, text: 'Accepted offers (%)' } } } },
        }, el('p', { class: 'muted' }, 'The table below has every provider.')) : null,
        table('Offers per receiving provider', [
          { label: 'Provider', value: (i) => `${i.providerName || '—'} (NPI ${i.providerNpi})` },
          { label: 'Offers', num: true, value: (i) => number.format(i.offers) },
          { label: 'Accepted', num: true, value: (i) => number.format(i.accepted) },
          { label: 'Acceptance', num: true, value: (i) => percent.format(i.acceptanceRate) },
          { label: 'Median hours to accept', num: true, value: (i) => (i.medianHoursToAccept == null ? '—' : number.format(i.medianHoursToAccept)) },
          { label: 'No response', num: true, value: (i) => `${number.format(i.noResponse)} (${percent.format(i.noResponseRate)})` },
        ], p.items, 'No offers in this period.'));
    }),
    part(entities, 'The referring entities', async () => {
      const e = await api('/api/console/referrals/referring-entities' + query({ from, to, top: 50 }));
      return table('Referrals per referring entity', [
        { label: 'Referring entity', value: (i) => i.referringEntity },
        { label: 'Referrals', num: true, value: (i) => number.format(i.referrals) },
        { label: 'Closure reasons', value: (i) => i.closureReasons.map((r) => `${r.reason}: ${number.format(r.count)}`).join('; ') || '—' },
      ], e.items, 'No referrals in this period.');
    }),
    part(open, 'The open referrals', async () => {
      const o = await api('/api/console/referrals/open' + query({ olderThanDays: olderThan, top: 50 }));
      return table(`Referrals still open after ${olderThan} days`, [
        { label: 'Referral', value: (i) => (i.link ? el('a', { href: i.link }, i.referralId) : i.referralId) },
        { label: 'Status', value: (i) => i.status },
        { label: 'Provider NPI', value: (i) => i.providerNpi ?? '—' },
        { label: 'Opened', value: (i) => time(i.openedAt) },
        { label: 'Age (days)', num: true, value: (i) => number.format(i.ageDays) },
      ], o.items, 'No referral is open that long.');
    }),
  ]);
}

/** One referral (linked from Today and the open-referral list): its plain facts and its history, as the referral API gives them. */
async function renderReferral(id) {
  setTitle(`Referral ${id}`);
  const holder = el('div');
  view.append(el('p', {}, el('a', { href: '#/referrals' }, '← Closed-loop referrals')), holder);
  await part(holder, 'The referral', async () => {
    const r = await api(`/api/referrals/${encodeURIComponent(id)}`);
    const facts = Object.entries(r).filter(([, v]) => v !== null && typeof v !== 'object');
    const history = Object.values(r).find((v) => Array.isArray(v) && v.length && typeof v[0] === 'object' && ('at' in v[0] || 'recordedAt' in v[0])) ?? [];
    return el('div', {},
      section('Summary', el('dl', { class: 'facts' }, facts.map(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]))),
      section('History', table('Referral history', [
        { label: 'When', value: (h) => time(h.at ?? h.recordedAt) },
        { label: 'What', value: (h) => h.status ?? h.kind ?? h.name ?? '—' },
        { label: 'Details', value: (h) => el('details', {}, el('summary', {}, 'Data'), el('pre', { class: 'data' }, JSON.stringify(h, null, 2))) },
      ], history, 'No history.')));
  });
}

const fileKinds = ['rtf', 'otf', 'invoice', 'referral'];

function reportLinks(partner, kind, file, reportUrl) {
  const url = reportUrl || `/api/files/${encodeURIComponent(partner)}/${encodeURIComponent(kind)}/${encodeURIComponent(file)}/report`;
  const status = el('span', { 'aria-live': 'polite' });
  // Fetched, then handed over as a download: the report route chooses JSON or CSV by Accept (a link cannot set it),
  // and a refusal (no report yet, no role) shows here instead of as a broken download.
  const download = (format, accept) => {
    const button = el('button', { type: 'button', class: 'secondary', 'aria-label': `Download the report of ${file} as ${format}` }, format);
    button.addEventListener('click', async () => {
      status.replaceChildren();
      const response = await fetch(url, { headers: { Accept: accept }, credentials: 'same-origin' });
      if (!response.ok) {
        const problem = (response.headers.get('Content-Type') || '').includes('json') ? await response.json() : null;
        status.replaceChildren(notice('error', `No ${format} report: ${problem?.detail ?? `HTTP ${response.status}`}`));
        return;
      }
      const blob = URL.createObjectURL(await response.blob());
      const link = el('a', { href: blob, download: `${file}.report.${format.toLowerCase()}` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(blob), 10_000);
    });
    return button;
  };
  return el('span', { class: 'actions' }, download('JSON', 'application/json'), download('CSV', 'text/csv'), status);
}

async function renderFiles(params) {
  setTitle('Partner files');
  const form = el('form', { class: 'filters', 'aria-label': 'Filter partner files' },
    inputField('partner', 'Partner', 'text', params.get('partner') ?? '', { pattern: '[A-Za-z0-9_\\-]{1,64}', autocomplete: 'off' }),
    selectField('kind', 'Kind', fileKinds.map((k) => [k, k]), params.get('kind') ?? ''),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Apply filters'), el('a', { href: '#/files' }, 'Clear')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    location.hash = '#/files' + query({ partner: data.get('partner'), kind: data.get('kind') });
  });
  const runs = section('Runs');
  const lookup = section('A report by file name');
  const lookupForm = el('form', { class: 'filters', 'aria-label': 'Find a report by file name' },
    inputField('report-partner', 'Partner', 'text', '', { required: true, autocomplete: 'off' }),
    el('div', { class: 'field' }, el('label', { for: 'report-kind' }, 'Kind'), el('select', { id: 'report-kind', name: 'report-kind' }, fileKinds.map((k) => el('option', { value: k }, k)))),
    inputField('report-file', 'File name', 'text', '', { required: true, autocomplete: 'off' }),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Find report')));
  const lookupResult = el('div', { 'aria-live': 'polite' });
  lookupForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(lookupForm);
    lookupResult.replaceChildren(el('p', {}, `Report of ${data.get('report-file')}: `, reportLinks(data.get('report-partner'), data.get('report-kind'), data.get('report-file'))));
  });
  lookup.append(lookupForm, lookupResult);
  const reconciliations = section('RTF reconciliation');
  view.append(el('section', { class: 'panel', 'aria-label': 'Filters' }, form), runs, reconciliations, lookup);
  const reconciled = part(reconciliations, 'The RTF reconciliation figures', async () => {
    const data = await api('/api/console/reconciliations' + query({ provider: params.get('partner'), top: 50 }));
    return table('Return Transmission Files against the member files sent, per provider and period', [
      { label: 'Provider', value: (r) => r.providerId },
      { label: 'Period', value: (r) => r.period },
      { label: 'Reconciled', value: (r) => (r.reconciled ? 'Yes' : el('span', { class: 'badge breached' }, 'Mismatches')) },
      { label: 'Members sent', num: true, value: (r) => number.format(r.membersSent) },
      { label: 'Members in RTF', num: true, value: (r) => number.format(r.membersReturned) },
      { label: 'Mismatches by kind', value: (r) => Object.entries(r.mismatchesByKind).filter(([, n]) => n > 0).map(([k, n]) => `${k} (${number.format(n)})`).join(', ') || '—' },
      { label: 'RTF', value: (r) => r.file },
      { label: 'Report', value: (r) => reportLinks(r.providerId, 'rtf', r.file, r.report) },
    ], data.items, 'No RTF has been reconciled yet: an RTF is reconciled when it arrives for a period the hub sent member files for.');
  });
  await part(runs, 'The partner file runs', async () => {
    const data = await api('/api/console/files' + query({ partner: params.get('partner'), kind: params.get('kind'), top: 50 }));
    return table('Partner file runs, newest first', [
      { label: 'File', value: (f) => f.file },
      { label: 'Partner', value: (f) => f.partner },
      { label: 'Kind', value: (f) => f.kind },
      { label: 'Received', value: (f) => time(f.receivedAt) },
      { label: 'Status', value: (f) => f.status },
      { label: 'Accepted rows', num: true, value: (f) => number.format(f.acceptedRows) },
      { label: 'Rejected rows', num: true, value: (f) => number.format(f.rejectedRows) },
      { label: 'Top rules broken', value: (f) => f.topRules.map((r) => `${r.rule} (${number.format(r.count)})`).join(', ') || '—' },
      { label: 'Report', value: (f) => reportLinks(f.partner, f.kind, f.file, f.reportUrl) },
    ], data.items, 'No partner file matches these filters.');
  });
  await reconciled;
}

// A member's consents and accounting of disclosures. The CIN is typed into the form and POSTed in the body: it never
// goes into the URL or the hash (URLs reach history, logs and telemetry). The routes need the privacy role.
async function renderDisclosures() {
  setTitle('Disclosures');
  const form = el('form', { class: 'filters', 'aria-label': 'Look up a member', autocomplete: 'off' },
    inputField('disclosure-cin', 'Member CIN', 'text', '', { required: true, pattern: '[0-9]{8}[A-Za-z]', maxlength: 9, autocomplete: 'off', spellcheck: 'false' }),
    inputField('disclosure-from', 'From (date)', 'date', ''),
    inputField('disclosure-to', 'To (date)', 'date', ''),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Look up')));
  const results = el('div', { 'aria-live': 'polite' });
  view.append(el('section', { class: 'panel', 'aria-label': 'Member look-up' },
    el('p', { class: 'muted' }, 'Which categories of a member\'s information went to whom, when and why, and the consents on file. Needs the privacy role.'), form), results);
  await signedIn;
  if (!hasRole('privacy')) results.append(notice('unavailable', 'Looking up disclosures needs the privacy role.'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const cin = String(data.get('disclosure-cin')).trim().toUpperCase();
    const from = data.get('disclosure-from') ? `${data.get('disclosure-from')}T00:00:00-08:00` : undefined;
    const to = data.get('disclosure-to') ? `${data.get('disclosure-to')}T23:59:59-08:00` : undefined;
    results.replaceChildren();
    const history = section('Accounting of disclosures');
    const consents = section('Consents on file');
    results.append(history, consents);
    const rows = [];
    const holder = el('div');
    history.append(holder);
    const more = el('button', { type: 'button', class: 'secondary' }, 'More');
    const loadPage = async (continuation) => {
      const page = await api('/api/members/disclosures/search', { method: 'POST', body: { cin, from, to, top: 50, continuation } });
      rows.push(...page.items);
      holder.replaceChildren(table(`Disclosures of the member, ${number.format(rows.length)} shown`, [
        { label: 'Document', value: (d) => d.documentPath },
        { label: 'To', value: (d) => d.recipientId },
        { label: 'Why', value: (d) => d.purpose },
        { label: 'When', value: (d) => time(d.disclosedAt) },
        { label: 'Categories disclosed', value: (d) => d.categoriesDisclosed.join(', ') || '—' },
        { label: 'Categories withheld', value: (d) => d.categoriesWithheld.join(', ') || '—' },
      ], rows, 'No disclosure of this member is recorded.'));
      if (page.continuation) {
        more.onclick = () => part(holder, 'More disclosures', () => loadPage(page.continuation));
        holder.append(el('div', { class: 'actions' }, more));
      }
      return null;
    };
    await Promise.all([
      part(history, 'The accounting of disclosures', () => loadPage(undefined)),
      part(consents, 'The consents', async () => {
        const found = await api('/api/members/consents/search', { method: 'POST', body: { cin } });
        return table('Consents of the member, newest first', [
          { label: 'Kind', value: (c) => c.kind },
          { label: 'Form', value: (c) => c.formVersion },
          { label: 'Effective', value: (c) => c.effectiveOn },
          { label: 'Expires', value: (c) => c.expiresOn ?? '—' },
          { label: 'Choices', value: (c) => Object.entries(c.choices).map(([k, v]) => `${k}: ${v}`).join(', ') || '—' },
          { label: 'Part 2 recipients', value: (c) => c.part2Recipients.join(', ') || 'none' },
          { label: 'Source document', value: (c) => c.sourceDocument },
        ], found.consents, 'No consent on file: the hub baseline applies (shared for treatment and care coordination, Part 2 information withheld).');
      }),
    ]);
    form.reset();
  });
}

const invoiceStatuses = [['received', 'Received'], ['contested', 'Contested'], ['paid', 'Paid'], ['denied', 'Denied'], ['settled', 'Settled']];
const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const pacificMonth = () => new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Los_Angeles', year: 'numeric', month: '2-digit' }).format(new Date());

/** The timeliness figures of a receipt month (all providers or one), as the read models count them: shares against the targets. */
function timelinessTable(f) {
  const targets = f.targets.map((t) => ({
    label: `Clean invoices paid within ${t.calendarDays} days`,
    value: t.share == null ? 'No clean invoices' : `${percent.format(t.share)} (${number.format(t.paidWithin)} of ${number.format(f.cleanInvoices)})`,
    target: percent.format(t.target),
    met: t.met == null ? '—' : t.met ? 'Met' : 'Missed',
  }));
  return el('div', {},
    table(`Timeliness of invoices received in ${f.month}`, [
      { label: 'Figure', value: (r) => r.label },
      { label: 'Value', num: true, value: (r) => r.value },
      { label: 'Target', num: true, value: (r) => r.target },
      { label: 'Met', value: (r) => (r.met === 'Missed' ? badge(true, 'Missed') : r.met) },
    ], [
      { label: 'Invoices received', value: number.format(f.invoices), target: '', met: '' },
      { label: 'Clean invoices (no line contested)', value: number.format(f.cleanInvoices), target: '', met: '' },
      ...targets,
      { label: 'Working-day breaches (pay or contest)', value: number.format(f.workingDayBreaches), target: '0', met: f.workingDayBreaches === 0 ? 'Met' : 'Missed' },
      { label: 'Interest owed', value: money.format(f.interestOwed), target: '', met: '' },
    ]),
    table('Contest reasons (lines)', [
      { label: 'Reason', value: (r) => r[0] },
      { label: 'Lines', num: true, value: (r) => number.format(r[1]) },
    ], Object.entries(f.contestReasons), 'No line was contested.'));
}

async function renderInvoices(params) {
  setTitle('Invoices');
  const provider = params.get('provider') || '';
  const month = params.get('month') || pacificMonth();
  const form = el('form', { class: 'filters', 'aria-label': 'Filter invoices' },
    inputField('provider', 'Billing provider (NPI or atypical id)', 'text', provider, { pattern: '[A-Za-z0-9\\-]{1,20}', autocomplete: 'off' }),
    selectField('status', 'Status', invoiceStatuses, params.get('status') ?? ''),
    selectField('overdue', 'Overdue', [['true', 'Overdue'], ['false', 'Not overdue']], params.get('overdue') ?? ''),
    inputField('month', 'Receipt month', 'month', month, { required: true }),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Apply filters'), el('a', { href: '#/invoices' }, 'Clear')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    location.hash = '#/invoices' + query({ provider: data.get('provider'), status: data.get('status'), overdue: data.get('overdue'), month: data.get('month') });
  });
  const figures = section('Payment timeliness');
  const list = section(provider ? `Invoices of ${provider}` : 'Invoices');
  view.append(el('section', { class: 'panel', 'aria-label': 'Filters' }, form), figures, list);
  await Promise.all([
    part(figures, 'The timeliness figures', async () => {
      const f = await api('/api/console/invoices/timeliness' + query({ month, provider }));
      return el('div', {},
        el('p', { class: 'muted' }, 'Shares of clean invoices paid in full within 30 and 90 calendar days of receipt, against 90% and 99% (H&SC §1371.35); pay-or-contest clocks count California working days.'),
        timelinessTable(f),
        f.byProvider ? table(`Per billing provider, ${f.month}`, [
          { label: 'Provider', value: (p) => el('a', { href: '#/invoices' + query({ provider: p.provider, month }) }, p.provider) },
          { label: 'Invoices', num: true, value: (p) => number.format(p.invoices) },
          { label: 'Clean', num: true, value: (p) => number.format(p.cleanInvoices) },
          ...targetDays(f).map((days) => ({ label: `Paid within ${days} days`, num: true, value: (p) => shareOf(p, days) })),
          { label: 'Breaches', num: true, value: (p) => number.format(p.workingDayBreaches) },
          { label: 'Interest owed', num: true, value: (p) => money.format(p.interestOwed) },
        ], f.byProvider, 'No invoices received this month.') : null);
    }),
    part(list, 'The invoice list', async () => {
      if (!provider) return el('p', { class: 'muted' }, 'Choose a billing provider to list its invoices (the providers above link to theirs).');
      const data = await api(`/api/providers/${encodeURIComponent(provider)}/invoices` + query({
        status: params.get('status'), overdue: params.get('overdue'), top: 50, continuation: params.get('continuation'),
      }));
      const next = data.continuation ? el('p', {}, el('a', { href: '#/invoices' + query({ provider, status: params.get('status'), overdue: params.get('overdue'), month, continuation: data.continuation }) }, 'Next page')) : null;
      return el('div', {}, table(`Invoices of ${provider}, in receipt order`, [
        { label: 'Invoice', value: (i) => i.invoiceNumber },
        { label: 'Received', value: (i) => time(i.receivedAt) },
        { label: 'Status', value: (i) => i.status },
        { label: 'Lines', num: true, value: (i) => number.format(i.lines) },
        { label: 'Contested lines', num: true, value: (i) => number.format(i.contestedLines) },
        { label: 'Billed', num: true, value: (i) => money.format(i.billed) },
        { label: 'Paid', num: true, value: (i) => money.format(i.paid) },
        { label: 'Interest owed', num: true, value: (i) => money.format(i.interestOwed) },
        { label: 'Next deadline', value: (i) => (i.nextDeadline ? el('span', {}, time(i.nextDeadline), ' ', badge(new Date(i.nextDeadline) < new Date(), new Date(i.nextDeadline) < new Date() ? 'Overdue' : 'Due')) : '—') },
      ], data.items, 'No invoice of this provider matches these filters.'), next);
    }),
  ]);
}

const targetDays = (f) => f.targets.map((t) => t.calendarDays);
const shareOf = (p, days) => {
  const t = p.targets.find((x) => x.calendarDays === days);
  return t?.share == null ? '—' : percent.format(t.share);
};

const outboundKinds = ['mif', 'cs-mif', 'mini-mif', 'cs-authorization-status'];

// Outbound files per provider and period: members, withheld categories (counts, never values), delivered / fetched /
// reconciled; each file downloads through the staff route (fetched, so a refusal shows here, not as a broken download).
async function renderOutbound(params) {
  setTitle('Outbound files');
  const period = params.get('period') ?? new Date().toISOString().slice(0, 7);
  const form = el('form', { class: 'filters', 'aria-label': 'Filter outbound files' },
    inputField('period', 'Period (yyyy-MM)', 'text', period, { pattern: '\\d{4}-\\d{2}', required: true, autocomplete: 'off' }),
    inputField('provider', 'Provider', 'text', params.get('provider') ?? '', { pattern: '[A-Za-z0-9_\\-]{1,64}', autocomplete: 'off' }),
    selectField('kind', 'Kind', outboundKinds.map((k) => [k, k]), params.get('kind') ?? ''),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Apply filters'), el('a', { href: '#/outbound' }, 'Clear')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    location.hash = '#/outbound' + query({ period: data.get('period'), provider: data.get('provider'), kind: data.get('kind') });
  });
  const files = section('Files');
  const status = el('div', { 'aria-live': 'polite' });
  view.append(el('section', { class: 'panel', 'aria-label': 'Filters' }, form), status, files);
  const download = (path) => {
    const name = path.split('/').pop();
    const button = el('button', { type: 'button', class: 'secondary', 'aria-label': `Download ${name}` }, 'Download');
    button.addEventListener('click', async () => {
      status.replaceChildren();
      const response = await fetch('/api/console/outbound/' + path.split('/').map(encodeURIComponent).join('/'), { credentials: 'same-origin' });
      if (!response.ok) {
        const problem = (response.headers.get('Content-Type') || '').includes('json') ? await response.json() : null;
        status.replaceChildren(notice('error', `Not downloaded: ${problem?.detail ?? `HTTP ${response.status}`}`));
        return;
      }
      const blob = URL.createObjectURL(await response.blob());
      const link = el('a', { href: blob, download: name });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(blob), 10_000);
    });
    return button;
  };
  await part(files, 'The outbound files', async () => {
    const data = await api('/api/console/outbound' + query({ period, provider: params.get('provider'), kind: params.get('kind'), top: 100 }));
    return table('Outbound files of the period', [
      { label: 'Provider', value: (f) => f.providerId },
      { label: 'Kind', value: (f) => f.kind },
      { label: 'File', value: (f) => f.path.split('/').pop() },
      { label: 'Generated', value: (f) => (f.generatedAt ? time(f.generatedAt) : '—') },
      { label: 'Members', num: true, value: (f) => number.format(f.members) },
      { label: 'Withheld', value: (f) => Object.entries(f.withheldFields).map(([c, n]) => `${c} (${number.format(n)})`).join(', ') || '—' },
      { label: 'Delivered', value: (f) => (f.deliveredAt ? time(f.deliveredAt) : f.status) },
      { label: 'Fetched', value: (f) => (f.fetchedAt ? time(f.fetchedAt) : '—') },
      { label: 'Reconciled', value: (f) => (f.reconciled === null || f.reconciled === undefined ? '—' : f.reconciled ? 'yes' : 'no') },
      { label: 'File', value: (f) => (f.path ? download(f.path) : '—') },
    ], data.items, 'No outbound file matches these filters.');
  });
}

async function renderOperations() {
  setTitle('Operations');
  const status = el('div', { 'aria-live': 'polite' });
  const holder = el('div');
  view.append(status, holder);
  await part(holder, 'The operations summary', async () => {
    const [data] = await Promise.all([api('/api/console/operations'), signedIn]);
    const operator = hasRole('operator');
    const poison = el('div');
    const queues = section('Queues', table('Queue and poison depths', [
      { label: 'Queue', value: (q) => q.name },
      { label: 'Depth', num: true, value: (q) => number.format(q.depth) },
      { label: 'Poison', num: true, value: (q) => number.format(q.poisonDepth) },
      { label: 'Poison messages', value: (q) => (q.poisonDepth > 0 ? el('button', { type: 'button', class: 'secondary', onclick: () => showPoison(q.name, poison, status, operator), 'aria-label': `Show the poison messages of ${q.name}` }, 'Show') : '—') },
    ], data.queues), poison);
    const failed = section('Failed workflow instances', table('Failed instances', [
      { label: 'Instance', value: (i) => (i.link ? el('a', { href: i.link }, i.instanceId) : i.instanceId) },
      { label: 'Type', value: (i) => i.workflowType },
      { label: 'Reason', value: (i) => i.reason },
      { label: 'Since', value: (i) => time(i.since) },
      { label: 'Repair', value: (i) => (operator ? repairActions(i.instanceId, status) : el('span', { class: 'muted' }, 'Operator role needed')) },
    ], data.failedInstances, 'No failed instance.'));
    const overdue = section('Past their next deadline', table('Overdue instances', [
      { label: 'Item', value: (d) => el('a', { href: d.link }, d.instanceId) },
      { label: 'Type', value: (d) => workflowNames[d.workflowType] ?? d.workflowType },
      { label: 'Deadline', value: (d) => d.deadline },
      { label: 'Due', value: (d) => time(d.dueAt) },
      { label: 'Repair', value: (d) => (operator ? repairActions(d.instanceId, status) : el('span', { class: 'muted' }, 'Operator role needed')) },
    ], data.overdueInstances, 'No instance is past its deadline.'));
    return el('div', {}, queues, failed, overdue);
  });
}

async function showPoison(queue, container, status, operator) {
  container.replaceChildren();
  const box = section(`Poison messages in ${queue}`);
  container.append(box);
  await part(box, 'The poison messages', async () => {
    const data = await api(`/api/console/poison/${encodeURIComponent(queue)}?top=50`);
    return table(`Poison messages of ${queue}`, [
      { label: 'Message', value: (m) => m.messageId },
      { label: 'Reason', value: (m) => m.reason },
      { label: 'Summary', value: (m) => m.summary },
      { label: 'Inserted', value: (m) => time(m.insertedAt) },
      { label: 'Dequeued', num: true, value: (m) => number.format(m.dequeueCount) },
      { label: 'Action', value: (m) => (operator
        ? el('button', { type: 'button', 'aria-label': `Replay message ${m.messageId}`, onclick: () => submit(status, `/api/console/poison/${encodeURIComponent(queue)}/${encodeURIComponent(m.messageId)}/replay`, undefined, `Message ${m.messageId} replayed onto ${queue}.`) }, 'Replay')
        : el('span', { class: 'muted' }, 'Operator role needed')) },
    ], data.items, 'The poison queue is empty.');
  });
}

function repairActions(instanceId, status) {
  const id = encodeURIComponent(instanceId);
  const reasonId = `repair-reason-${instanceId}`;
  const eventId = `repair-event-${instanceId}`;
  const reason = el('input', { id: reasonId, type: 'text', maxlength: 200, placeholder: 'reason' });
  const eventName = el('input', { id: eventId, type: 'text', maxlength: 100, placeholder: 'event name' });
  const button = (label, onclick, cls) => el('button', { type: 'button', class: cls, onclick }, label);
  return el('div', { class: 'actions' },
    el('label', { for: reasonId, class: 'visually-hidden' }, `Reason for ${instanceId}`), reason,
    button('Resume', () => submit(status, `/api/workflows/${id}/resume${query({ reason: reason.value })}`, undefined, `${instanceId} resumed.`), 'secondary'),
    button('Terminate', () => submit(status, `/api/workflows/${id}/terminate${query({ reason: reason.value })}`, undefined, `${instanceId} terminated.`), 'danger'),
    el('label', { for: eventId, class: 'visually-hidden' }, `Event to raise on ${instanceId}`), eventName,
    button('Raise', () => (eventName.value ? submit(status, `/api/workflows/${id}/events/${encodeURIComponent(eventName.value)}`, {}, `${eventName.value} raised on ${instanceId}.`) : eventName.focus()), 'secondary'));
}

// ---------------------------------------------------------------------------------------------------------------
// Routing

function setTitle(text) {
  title.textContent = text;
  document.title = `${text} · CalAimHub console`;
}

function parseRoute() {
  const hash = location.hash.startsWith('#/') ? location.hash.slice(2) : 'today';
  const [path, search = ''] = hash.split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(search) };
}

async function route() {
  const token = ++renderToken;
  delete document.body.dataset.rendered;
  for (const c of charts) c.destroy();
  charts = [];
  const { parts, params } = parseRoute();
  const sectionName = parts[0] || 'today';
  document.querySelectorAll('nav a[data-section]').forEach((a) => (a.dataset.section === sectionName ? a.setAttribute('aria-current', 'page') : a.removeAttribute('aria-current')));
  view.replaceChildren();
  view.setAttribute('aria-busy', 'true');
  const flash = sessionStorage.getItem('console-flash');
  if (flash) {
    sessionStorage.removeItem('console-flash');
    view.append(notice('success', flash));
  }
  try {
    if (sectionName === 'today') await renderToday();
    else if (sectionName === 'authorizations' && parts[1]) await renderAuthorization(parts[1]);
    else if (sectionName === 'authorizations') await renderAuthorizations(params);
    else if (sectionName === 'referrals' && parts[1]) await renderReferral(parts[1]);
    else if (sectionName === 'referrals') await renderReferrals(params);
    else if (sectionName === 'files') await renderFiles(params);
    else if (sectionName === 'disclosures') await renderDisclosures();
    else if (sectionName === 'invoices') await renderInvoices(params);
    else if (sectionName === 'outbound') await renderOutbound(params);
    else if (sectionName === 'operations') await renderOperations();
    else {
      setTitle('Not found');
      view.append(el('p', {}, 'There is no such page. ', el('a', { href: '#/today' }, 'Go to Today'), '.'));
    }
  } finally {
    if (token === renderToken) {
      view.setAttribute('aria-busy', 'false');
      document.body.dataset.rendered = sectionName;
    }
  }
}

async function signIn() {
  try {
    me = await api('/api/console/me');
    who.textContent = `Signed in as ${me.name} (${me.roles.join(', ') || 'no role'})`;
  } catch (error) {
    me = null;
    if (error instanceof ApiError && error.status === 401) {
      // App Service authentication's sign-in (Microsoft Entra ID), back to this page afterwards.
      const back = encodeURIComponent(location.pathname + location.hash);
      who.replaceChildren('Not signed in · ', el('a', { href: `/.auth/login/aad?post_login_redirect_uri=${back}`, class: 'sign-in' }, 'Sign in'));
    } else {
      who.textContent = 'Sign-in information not available';
    }
  }
}

// The skip link moves focus without touching the address: left to the browser, fragment navigation focuses <main>
// before 'hashchange' puts the page's own hash back, so for a moment the address would read #main.
document.querySelector('[data-skip]').addEventListener('click', event => {
  event.preventDefault();
  document.getElementById('main').focus();
});

let lastHash = null;
window.addEventListener('hashchange', () => {
  // The skip link's #main is not a page: it only moves focus.
  if (!location.hash.startsWith('#/')) {
    document.getElementById('main').focus();
    history.replaceState(null, '', lastHash ?? '#/today');
    return;
  }
  lastHash = location.hash;
  route().then(() => title.focus({ preventScroll: true }));
});

// Who is signed in is asked for alongside the first page's data: only the pages that offer actions wait for it.
const signedIn = signIn();
lastHash = location.hash.startsWith('#/') ? location.hash : '#/today';
if (!location.hash.startsWith('#/')) history.replaceState(null, '', lastHash);
await route();
