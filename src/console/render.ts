import { historyChart } from './chart.ts';
import { escapeHtml as e, shortTime } from './html.ts';
import type { ConsoleView, Reach, RecordRow } from './view.ts';

const reach = (name: string, state: Reach) =>
  `<li class="${state.ok === false ? 'bad' : state.ok ? 'good' : ''}"><b>${name}:</b> ${state.ok === false ? 'not working' : state.ok ? 'reachable' : 'unknown'} — ${e(state.text)}</li>`;

const csrfField = (csrf: string) => `<input type="hidden" name="csrf" value="${e(csrf)}">`;

const actionButton = (csrf: string, action: string, label: string, fields = '') =>
  `<form method="post" action="/console/action" class="inline">${csrfField(csrf)}<input type="hidden" name="action" value="${action}">${fields}<button type="submit">${e(label)}</button></form>`;

function nowSection(view: ConsoleView): string {
  const state = view.running
    ? `running (${e(view.running)} run)`
    : view.health.healthy
      ? 'idle'
      : 'not syncing';
  return `<section id="now"><h2>Now</h2>
<p class="state ${view.health.healthy ? 'good' : 'bad'}"><b>${state}</b> — ${e(view.health.reason)} <small>(since ${shortTime(view.health.since)})</small></p>
<ul>
<li><b>Next incremental run:</b> ${shortTime(view.next.incremental)}; <b>next deep sync:</b> ${shortTime(view.next.deep)}</li>
${view.lastSuccess.map((entry) => `<li><b>Last success, ${e(entry.label)}:</b> ${shortTime(entry.at)}</li>`).join('\n')}
<li class="${view.token.warn ? 'bad' : ''}"><b>amoCRM token:</b> ${e(view.token.text)}</li>
${reach('IDENT', view.reach.ident)}
${reach('amoCRM', view.reach.amocrm)}
${view.queued > 0 ? `<li><b>Asked for the next run:</b> ${describeQueue(view)}</li>` : ''}
</ul></section>`;
}

function describeQueue(view: ConsoleView): string {
  const parts: string[] = [];
  if (view.queue.patients.length) parts.push(`${view.queue.patients.length} patient(s) again`);
  if (view.queue.receptions.length) parts.push(`${view.queue.receptions.length} visit(s) again`);
  if (view.queue.retryFailed) parts.push('every failed item');
  return e(parts.join(', '));
}

const numbersSection = (view: ConsoleView) =>
  `<section id="numbers"><h2>Numbers</h2><div class="numbers">${view.numbers
    .map(
      (number) =>
        `<div class="number${number.warn ? ' warn' : ''}" data-label="${e(number.label)}"><span>${number.value ?? '—'}</span>${e(number.label)}</div>`,
    )
    .join('')}</div></section>`;

function historySection(view: ConsoleView): string {
  const rows = view.runs
    .map((run) => {
      const seconds = run.endedAt
        ? Math.round((Date.parse(run.endedAt) - Date.parse(run.startedAt)) / 1000)
        : null;
      const deals = run.deals ? `${run.deals.read} / ${run.deals.written} / ${run.deals.failed}` : '—';
      return `<tr class="${e(run.outcome)}"><td>${run.id}</td><td>${e(run.kind)}${run.dryRun ? ' (dry)' : ''}</td><td>${shortTime(run.startedAt)}</td><td>${seconds === null ? '…' : `${seconds} s`}</td><td>${e(run.outcome)}${run.error ? ` <span class="why" title="${e(run.error)}">(${e(run.errorKind ?? 'error')})</span>` : ''}</td><td>${run.read}</td><td>${run.created}</td><td>${run.updated}</td><td>${run.linked}</td><td>${run.repaired}</td><td>${run.failed}</td><td>${deals}</td><td>${run.requests}</td></tr>`;
    })
    .join('\n');
  return `<section id="history"><h2>History</h2>${view.days.length ? historyChart(view.days) : ''}
<table class="runs"><thead><tr><th>run</th><th>kind</th><th>started</th><th>took</th><th>outcome</th><th>read</th><th>created</th><th>updated</th><th>linked</th><th>repaired</th><th>failed</th><th>deals read / written / failed</th><th>requests</th></tr></thead>
<tbody>${rows || '<tr><td colspan="13">No run yet.</td></tr>'}</tbody></table></section>`;
}

function recordRow(row: RecordRow, csrf: string, receptions: boolean): string {
  const action = row.what === 'patient' ? 'resync-patient' : 'resync-reception';
  const label = row.what === 'patient' ? 'sync this patient again' : 'sync this visit again';
  const queued = row.problem === 'queued';
  const button =
    row.what === 'reception' && !receptions
      ? '<small>visits are not synced (SYNC_RECEPTIONS is off)</small>'
      : actionButton(csrf, action, label, `<input type="hidden" name="id" value="${e(row.id)}">`);
  return `<tr class="${row.problem}" data-id="${e(row.id)}"><td>${row.what === 'patient' ? 'patient' : 'visit'} ${e(row.id)}</td><td>${row.name ? e(row.name) : '<small>no name stored</small>'}</td><td>${e(row.problem)}</td><td>${e(row.reason)}</td><td>${row.link ? `<a href="${e(row.link)}" target="_blank" rel="noopener noreferrer">open in amoCRM</a>` : '—'}</td><td>${queued ? 'in the next run' : button}</td></tr>`;
}

function recordsSection(view: ConsoleView, csrf: string): string {
  return `<section id="records"><h2>Per record</h2>
<p class="masked">Names are masked (first letter of the surname and the first name's initial); no phones, e-mails or birth dates are shown.</p>
${view.namesMissing > 0 ? `<p class="names-missing">IDENT did not give the names of ${view.namesMissing} patient(s) in time; they show their ids only and are asked for again shortly.</p>` : ''}
<table class="records"><thead><tr><th>IDENT id</th><th>name</th><th>state</th><th>reason</th><th>amoCRM</th><th></th></tr></thead>
<tbody>${view.records.map((row) => recordRow(row, csrf, view.receptions)).join('\n') || '<tr><td colspan="6">Nothing failing, nothing refused.</td></tr>'}</tbody></table></section>`;
}

function actionsSection(view: ConsoleView, csrf: string): string {
  const idField = (name: string, label: string) =>
    `<label>${label} <input name="id" inputmode="numeric" pattern="[0-9]+" required size="10"></label>`.replace(
      'name="id"',
      `name="${name}"`,
    );
  return `<section id="actions"><h2>Actions</h2>
<p>Each action is handed to the daemon's next run (right away when it is idle; after the run in progress otherwise) and written to its log.</p>
${actionButton(csrf, 'retry-failed', 'Retry all failed')}
${actionButton(csrf, 'deep', 'Run a deep sync now')}
<form method="post" action="/console/action" class="inline">${csrfField(csrf)}<input type="hidden" name="action" value="resync-patient">${idField('id', 'Patient id')}<button type="submit">Sync this patient again</button></form>
${view.receptions ? `<form method="post" action="/console/action" class="inline">${csrfField(csrf)}<input type="hidden" name="action" value="resync-reception">${idField('id', 'Visit (reception) id')}<button type="submit">Sync this visit again</button></form>` : ''}
</section>`;
}

/** The console page: everything server-rendered; the script only refreshes it. */
export function renderPage(view: ConsoleView, csrf: string, notice?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ident-sync console</title><link rel="stylesheet" href="/console/console.css"></head>
<body><header><h1>ident-sync console</h1><p class="masked-banner">Patient data on this page is masked.</p></header>
${notice ? `<p class="notice" role="status">${e(notice)}</p>` : ''}
<main id="live" data-generated="${e(view.generatedAt)}">
${nowSection(view)}
${numbersSection(view)}
${recordsSection(view, csrf)}
${historySection(view)}
</main>
${actionsSection(view, csrf)}
<footer>Page of ${shortTime(view.generatedAt)}; refreshed every 10 s.</footer>
<script src="/console/console.js"></script>
</body></html>`;
}

export const CONSOLE_CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 16px 32px;color:#1d2530}
header{display:flex;align-items:baseline;gap:16px;border-bottom:1px solid #ccd}
h1{font-size:20px}h2{font-size:16px;margin:20px 0 6px}
.masked-banner,.masked{color:#6a5300;background:#fff6d6;padding:2px 8px;border-radius:4px}
.good{color:#13652c}.bad{color:#a11}
.numbers{display:flex;flex-wrap:wrap;gap:8px}
.number{border:1px solid #ccd;border-radius:6px;padding:6px 10px;min-width:110px}
.number span{display:block;font-size:22px;font-weight:600}.number.warn span{color:#a11}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border-bottom:1px solid #e3e3ea;padding:3px 6px;text-align:left;vertical-align:top}
tr.failed td{background:#fff0f0}tr.refused td:nth-child(3){color:#a15b00}tr.failing td:nth-child(3){color:#a11}
.chart{width:100%;max-width:720px;height:auto}.chart text{font-size:10px;fill:#556}.chart .grid{stroke:#e3e3ea}
.writes{fill:#3a6fd8}.failures{fill:#d83a3a}.duration{fill:none;stroke:#1d9a6c;stroke-width:2}
.legend .key{display:inline-block;width:12px;height:12px;vertical-align:middle}
.key.writes{background:#3a6fd8}.key.failures{background:#d83a3a}.key.duration{background:#1d9a6c;height:3px}
form.inline{display:inline-block;margin:4px 8px 4px 0}
.notice{background:#e8f4ea;padding:6px 10px;border-radius:4px}
footer{color:#778;margin-top:24px}
`;

/** Refreshes the live part of the page every 10 s (not while a field is being typed in, nor while the last refresh is still loading). */
export const CONSOLE_JS = `
(function () {
  var loading = false;
  function refresh() {
    var active = document.activeElement;
    if (loading || (active && active.tagName === 'INPUT')) return;
    loading = true;
    fetch(location.pathname, { credentials: 'same-origin' })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var next = new DOMParser().parseFromString(html, 'text/html').getElementById('live');
        var live = document.getElementById('live');
        if (next && live) live.replaceWith(next);
      })
      .catch(function () {})
      .then(function () { loading = false; });
  }
  setInterval(refresh, 10000);
})();
`;
