/**
 * The one stylesheet and the one small script of the web pages, served by the Worker itself
 * (no third-party assets). The path carries a content hash, so the files can be cached forever.
 */

const CSS = `
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --surface: #ffffff; --text: #1b1f24; --muted: #57606a; --border: #d5d9de;
  --accent: #0b5cd5; --accent-text: #ffffff; --accent-soft: #e7f0fd;
  --ok: #1a7f37; --ok-soft: #e6f4ea; --warn: #8a5a00; --warn-soft: #fff4d6;
  --danger: #c62828; --danger-soft: #fdecec; --focus: #0b5cd5; --code-bg: #f1f3f5;
  --radius: 10px; --shadow: 0 1px 2px rgba(16,24,40,.06), 0 1px 3px rgba(16,24,40,.08);
  --font: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1216; --surface: #171b21; --text: #e6e9ed; --muted: #a3acb7; --border: #2d333b;
    --accent: #5b9dff; --accent-text: #0b1220; --accent-soft: #14253d;
    --ok: #56d37a; --ok-soft: #12291a; --warn: #f0c060; --warn-soft: #2e2410;
    --danger: #ff7b72; --danger-soft: #341515; --focus: #8ab8ff; --code-bg: #0b0e12;
    --shadow: 0 1px 2px rgba(0,0,0,.4);
  }
}
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--text); font: 16px/1.55 var(--font); display: flex; flex-direction: column; min-height: 100vh; }
main { flex: 1; padding-block: 2rem 3rem; outline: none; }
h1, h2, h3 { line-height: 1.25; margin: 0 0 .75rem; }
h1 { font-size: 1.75rem; letter-spacing: -.01em; }
h2 { font-size: 1.2rem; }
p { margin: 0 0 1rem; }
a { color: var(--accent); text-underline-offset: 2px; }
code, pre { font-family: var(--mono); font-size: .9em; }
:not(pre) > code { background: var(--code-bg); padding: .1em .35em; border-radius: 4px; overflow-wrap: anywhere; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; border-radius: 4px; }
.container { width: 100%; max-width: 960px; margin: 0 auto; padding-inline: 1.25rem; }
.narrow { max-width: 560px; }
.skip-link { position: absolute; left: -999px; top: .5rem; background: var(--surface); padding: .5rem 1rem; z-index: 10; border-radius: 6px; }
.skip-link:focus { left: .5rem; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.site-header { background: var(--surface); border-bottom: 1px solid var(--border); }
.header-row { display: flex; align-items: center; justify-content: space-between; gap: 1rem; flex-wrap: wrap; min-height: 3.5rem; padding-block: .5rem; }
.brand { display: inline-flex; align-items: center; gap: .5rem; font-weight: 700; font-size: 1.1rem; color: var(--text); text-decoration: none; }
.brand-mark { display: inline-grid; place-items: center; width: 1.75rem; height: 1.75rem; border-radius: 7px; background: var(--accent); color: var(--accent-text); font-size: .95rem; }
.nav { display: flex; align-items: center; gap: .25rem 1rem; flex-wrap: wrap; }
.nav a { color: var(--muted); text-decoration: none; font-weight: 500; padding: .25rem 0; border-bottom: 2px solid transparent; }
.nav a:hover { color: var(--text); }
.nav a[aria-current="page"] { color: var(--text); border-bottom-color: var(--accent); }
.nav-user { color: var(--muted); font-size: .875rem; max-width: 16rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.inline-form { display: inline; margin: 0; }
.site-footer { border-top: 1px solid var(--border); color: var(--muted); font-size: .85rem; padding-block: 1.25rem; }
.page-head { margin-bottom: 1.5rem; }
.lead { font-size: 1.05rem; color: var(--muted); }
.muted { color: var(--muted); }
.small { font-size: .875rem; }
.capitalize { text-transform: capitalize; }
.card { background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius); box-shadow: var(--shadow); padding: 1.5rem; margin-bottom: 1.25rem; }
.card > :last-child { margin-bottom: 0; }
.card-hero { padding: 2rem; }
.stack > * + * { margin-top: 1rem; }
.button-row { display: flex; gap: .75rem; flex-wrap: wrap; align-items: center; }
.button { display: inline-flex; align-items: center; justify-content: center; gap: .4rem; min-height: 2.5rem; padding: .5rem 1rem; border-radius: 8px; border: 1px solid var(--border); background: var(--surface); color: var(--text); font: inherit; font-weight: 600; text-decoration: none; cursor: pointer; }
.button:hover { border-color: var(--muted); }
.button-primary { background: var(--accent); border-color: var(--accent); color: var(--accent-text); }
.button-primary:hover { filter: brightness(1.08); border-color: var(--accent); }
.button-danger { background: var(--danger); border-color: var(--danger); color: #fff; }
.button-danger-quiet { color: var(--danger); }
.button-quiet { border-color: transparent; background: transparent; color: var(--muted); }
.button-small { min-height: 2rem; padding: .25rem .7rem; font-size: .875rem; }
.button-block { width: 100%; }
.field { display: flex; flex-direction: column; gap: .35rem; }
label { font-weight: 600; }
.hint { margin: 0; color: var(--muted); font-size: .875rem; }
input[type="text"], input[type="email"], textarea { width: 100%; font: inherit; color: var(--text); background: var(--surface); border: 1px solid var(--border); border-radius: 8px; padding: .55rem .75rem; }
textarea { font-family: var(--mono); font-size: .85rem; resize: vertical; }
input::placeholder, textarea::placeholder { color: var(--muted); opacity: .8; }
input:focus-visible, textarea:focus-visible { outline: 3px solid var(--focus); outline-offset: 0; border-color: var(--focus); }
.field-invalid input, .field-invalid textarea { border-color: var(--danger); }
.field-error { margin: 0; color: var(--danger); font-size: .875rem; font-weight: 500; }
.inline-fields { display: flex; gap: .75rem; align-items: flex-end; flex-wrap: wrap; margin-bottom: 1.25rem; }
.inline-fields .field { flex: 1 1 16rem; }
.notice { border-radius: 8px; padding: .75rem 1rem; margin-bottom: 1.25rem; border: 1px solid; }
.notice > div > :last-child { margin-bottom: 0; }
.notice-title { font-weight: 700; margin-bottom: .25rem; }
.notice-info { background: var(--accent-soft); border-color: var(--accent); }
.notice-success { background: var(--ok-soft); border-color: var(--ok); }
.notice-warning { background: var(--warn-soft); border-color: var(--warn); }
.notice-error { background: var(--danger-soft); border-color: var(--danger); }
.badge { display: inline-block; padding: .15rem .6rem; border-radius: 999px; font-size: .85rem; font-weight: 700; }
.badge-ok { background: var(--ok-soft); color: var(--ok); }
.badge-warn { background: var(--warn-soft); color: var(--warn); }
.badge-muted { background: var(--code-bg); color: var(--muted); }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1rem; margin: 0 0 1.25rem; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.meter { margin-bottom: 1rem; }
.meter-head { display: flex; justify-content: space-between; font-weight: 600; margin-bottom: .35rem; }
.meter-value { font-variant-numeric: tabular-nums; }
progress { width: 100%; height: .65rem; border: 0; border-radius: 999px; overflow: hidden; background: var(--code-bg); appearance: none; }
progress::-webkit-progress-bar { background: var(--code-bg); border-radius: 999px; }
progress::-webkit-progress-value { background: var(--accent); border-radius: 999px; }
progress::-moz-progress-bar { background: var(--accent); border-radius: 999px; }
progress.mid::-webkit-progress-value { background: var(--warn); }
progress.mid::-moz-progress-bar { background: var(--warn); }
progress.high::-webkit-progress-value { background: var(--danger); }
progress.high::-moz-progress-bar { background: var(--danger); }
.meter .small { margin: .35rem 0 0; }
.copy { margin-bottom: 1rem; }
.copy-head { display: flex; justify-content: space-between; align-items: center; gap: .5rem; margin-bottom: .35rem; }
.copy-label { font-weight: 600; font-size: .9rem; }
.copy pre { margin: 0; background: var(--code-bg); border: 1px solid var(--border); border-radius: 8px; padding: .75rem 1rem; overflow-x: auto; line-height: 1.5; }
.copy pre.wrap { white-space: pre-wrap; overflow-wrap: anywhere; }
.copy code.secret { font-weight: 600; overflow-wrap: anywhere; white-space: pre-wrap; }
.copy-button[data-copied] { border-color: var(--ok); color: var(--ok); }
.new-key { border-color: var(--ok); }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-size: .95rem; }
th, td { text-align: left; padding: .6rem .5rem; border-bottom: 1px solid var(--border); vertical-align: middle; }
thead th { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
tbody th { font-weight: 600; }
td.actions { text-align: right; white-space: nowrap; }
.keys code { white-space: nowrap; }
.empty { padding: 1rem 0; }
.revoked { margin-top: 1rem; color: var(--muted); }
.revoked summary { cursor: pointer; }
ul.plain { list-style: none; padding: 0; }
ul.plain li { padding: .25rem 0; }
.steps { list-style: none; padding: 0; margin: 0; }
.step h2 { display: flex; align-items: center; gap: .6rem; }
.step-number { display: inline-grid; place-items: center; width: 1.8rem; height: 1.8rem; border-radius: 50%; background: var(--accent); color: var(--accent-text); font-size: .95rem; flex: none; }
details > summary { cursor: pointer; }
.alternative > summary { list-style-position: inside; }
.summary-heading { display: inline; font-size: 1.05rem; }
.alternative[open] > summary { margin-bottom: 1rem; }
details .copy { margin-top: .75rem; }
.dev-panel { margin-top: 1.5rem; }
.danger-zone { border-color: var(--danger); }
.danger-zone h2 { color: var(--danger); }
.snippets { display: grid; gap: 0; }
.snippet-group { font-size: 1rem; margin: 1.5rem 0 .25rem; }
.snippet { border-top: 1px solid var(--border); padding: .65rem 0; }
.snippet > summary { font-weight: 600; }
.snippet[open] > summary { margin-bottom: .5rem; }
.snippet .hint { margin-bottom: .5rem; }
.snippets > *, .copy, .copy pre { min-width: 0; max-width: 100%; }
.usage-layout { display: grid; gap: 1rem 2rem; grid-template-columns: minmax(0, 1fr) minmax(220px, 280px); align-items: start; }
.usage-layout > * { min-width: 0; }
.usage-layout > .usage-history { grid-column: 1; grid-row: 1; }
.usage-layout > .usage-limits { grid-column: 2; grid-row: 1; }
.usage-limits h3 { font-size: 1rem; }
.chart-filter { display: flex; flex-wrap: wrap; gap: .5rem .75rem; align-items: center; margin-bottom: 1rem; }
.chart-filter-field { display: inline-flex; align-items: center; gap: .5rem; max-width: 100%; }
.chart-filter label { font-size: .9rem; }
select { font: inherit; font-size: .95rem; color: var(--text); background: var(--surface); border: 1px solid var(--border); border-radius: 8px; padding: .3rem .5rem; max-width: 100%; min-height: 2rem; }
.chart { margin: 0 0 1.25rem; }
.chart figcaption { display: flex; flex-wrap: wrap; justify-content: space-between; gap: .1rem 1rem; font-weight: 600; margin-bottom: .25rem; }
.chart-total { font-weight: 400; color: var(--muted); font-variant-numeric: tabular-nums; }
.chart-scale, .chart-empty { margin: 0; }
.chart-bars { display: block; overflow: visible; }
.chart-bar { fill: var(--accent); }
.chart-axis { stroke: var(--border); stroke-width: 1; }
.chart-label { fill: var(--muted); font-size: 12px; font-family: var(--font); }
.chart-table { margin-top: .5rem; font-size: .9rem; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
.key-requests { display: block; }
@media (max-width: 760px) {
  .usage-layout { grid-template-columns: minmax(0, 1fr); }
  .usage-layout > .usage-history, .usage-layout > .usage-limits { grid-column: 1; grid-row: auto; }
}
@media (max-width: 600px) {
  h1 { font-size: 1.45rem; }
  .card, .card-hero { padding: 1.1rem; }
  .nav-user { display: none; }
  th, td { padding: .5rem .35rem; }
  /* The key table becomes one block per key: name and hint on the left, Revoke on the right. */
  table.keys, table.keys tbody { display: block; }
  table.keys thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.keys tr { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: .15rem .75rem; align-items: center; padding: .65rem 0; border-bottom: 1px solid var(--border); }
  table.keys th, table.keys td { border: 0; padding: 0; grid-column: 1; overflow-wrap: anywhere; }
  table.keys td.key-created { display: none; }
  table.keys td.key-used { color: var(--muted); font-size: .875rem; }
  table.keys td.key-used::before { content: "Last used: "; }
  table.keys td.key-day, table.keys td.key-month { font-size: .875rem; }
  table.keys td.key-day::before { content: "24 h: "; }
  table.keys td.key-month::before { content: "30 days: "; }
  table.keys .key-requests { display: inline; }
  table.keys .key-requests::before { content: "· "; }
  table.keys td.actions { grid-column: 2; grid-row: 1 / span 5; }
}
@media (prefers-reduced-motion: no-preference) { .button { transition: filter .15s, border-color .15s; } }
.section-heading { margin-top: 2rem; }
.device-steps { padding-left: 1.25rem; margin: 0 0 1rem; }
.device-steps a { overflow-wrap: anywhere; }
.device #device-code { font-size: 1.5rem; letter-spacing: .12em; font-weight: 700; }
.device #device-poll { margin-top: 1rem; }
.device .inline-form { display: block; margin-top: .5rem; }
.device .inline-form .button { padding-inline: 0; }
`;

const JS = `
(function () {
  // Sign-in links carry their token in the fragment (never sent to the server, so never logged):
  // move it into the form, and out of the address bar and history.
  var magicToken = document.getElementById('magic-token');
  var fromHash = /[#&]token=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (magicToken && fromHash) {
    magicToken.value = fromHash[1];
    history.replaceState(null, '', location.pathname);
    var paste = document.getElementById('paste-link');
    if (paste) paste.hidden = true;
  }
  // Copy buttons: shown only when the clipboard is usable.
  document.querySelectorAll('[data-copy]').forEach(function (button) {
    var target = document.getElementById(button.getAttribute('data-copy'));
    if (!target || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener('click', function () {
      navigator.clipboard.writeText(target.textContent || '').then(function () {
        button.textContent = 'Copied';
        button.setAttribute('data-copied', '');
        setTimeout(function () { button.textContent = 'Copy'; button.removeAttribute('data-copied'); }, 2000);
      }, function () {
        var range = document.createRange();
        range.selectNodeContents(target);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      });
    });
  });
  // Times: the reader's own clock instead of UTC.
  var relative = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }) : null;
  document.querySelectorAll('time[data-local]').forEach(function (el) {
    var date = new Date(el.getAttribute('datetime'));
    if (isNaN(date.getTime())) return;
    var absolute = date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
    el.title = absolute;
    var seconds = Math.round((date.getTime() - Date.now()) / 1000);
    if (el.getAttribute('data-local') === 'relative' && relative && Math.abs(seconds) < 7 * 86400) {
      var units = [['day', 86400], ['hour', 3600], ['minute', 60]];
      for (var i = 0; i < units.length; i++) {
        if (Math.abs(seconds) >= units[i][1] || i === units.length - 1) {
          el.textContent = relative.format(Math.round(seconds / units[i][1]), units[i][0]);
          return;
        }
      }
    }
    el.textContent = absolute;
  });
  // Device-code sign-in: the server polls ChatGPT each time it is asked; the page asks every
  // interval and follows the redirect that comes once the code was approved (or has ended).
  // Without script, the form's own button does one poll per press.
  var poll = document.getElementById('device-poll');
  if (poll && window.fetch && window.FormData) {
    var pollStatus = document.getElementById('device-status');
    var interval = Number(poll.getAttribute('data-device-poll')) || 5000;
    var step = function () {
      fetch(poll.action, { method: 'POST', body: new FormData(poll), headers: { Accept: 'application/json' }, credentials: 'same-origin' })
        .then(function (res) { return res.ok ? res.json() : Promise.reject(new Error('HTTP ' + res.status)); })
        .then(function (answer) {
          if (answer.redirect) { window.location.assign(answer.redirect); return; }
          if (pollStatus) pollStatus.textContent = 'Waiting for your approval…';
          setTimeout(step, Math.max(1000, answer.retryAfterMs || interval));
        })
        .catch(function () {
          if (pollStatus) pollStatus.textContent = 'Lost contact with the server; trying again…';
          setTimeout(step, interval * 2);
        });
    };
    setTimeout(step, interval);
  }
})();
`;

/** FNV-1a, enough to give each asset version its own URL. */
function contentHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(36);
}

export const ASSET_PATHS = {
  css: `/assets/app.${contentHash(CSS)}.css`,
  js: `/assets/app.${contentHash(JS)}.js`,
} as const;

/** The asset at `path`, with its content type; null for anything else. */
export function asset(path: string): { body: string; contentType: string } | null {
  if (path === ASSET_PATHS.css) return { body: CSS, contentType: 'text/css; charset=utf-8' };
  if (path === ASSET_PATHS.js) return { body: JS, contentType: 'text/javascript; charset=utf-8' };
  return null;
}
