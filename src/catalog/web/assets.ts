// The catalog's only static assets: one stylesheet and one progressive-enhancement script (copy
// buttons beside pull commands). Served from /static/ so the Content-Security-Policy can forbid
// inline script and style. Colours meet WCAG AA contrast on their backgrounds.

/** /static/catalog.css */
export const CATALOG_CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #4a5460; --line: #d0d7de; --accent: #0b5cad; --bg: #ffffff; --soft: #f4f6f8; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header.top { display: flex; gap: 2rem; align-items: center; padding: .75rem 1.5rem; background: #14213d; }
header.top a { color: #ffffff; text-decoration: none; }
header.top .brand { font-weight: 700; }
header.top nav { display: flex; gap: 1rem; }
header.top nav a[aria-current=page] { text-decoration: underline; }
main { padding: 1rem 1.5rem 2rem; max-width: 1200px; }
footer { padding: 1rem 1.5rem; color: var(--muted); border-top: 1px solid var(--line); }
a { color: var(--accent); }
h1 { font-size: 1.6rem; margin: .5rem 0; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid var(--line); }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid var(--line); }
thead th { background: var(--soft); }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9em; overflow-wrap: anywhere; }
.muted, .desc { color: var(--muted); }
.desc { font-weight: normal; font-size: .9em; }
.tag { margin-right: .35rem; background: var(--soft); padding: 0 .25rem; border-radius: 3px; white-space: nowrap; overflow-wrap: normal; }
.plain { list-style: none; padding: 0; margin: 0; }
.badges .badge, .badge { display: inline-block; margin: 0 .3rem .3rem 0; padding: .05rem .45rem; border-radius: 999px; font-size: .8rem; border: 1px solid; white-space: nowrap; }
.badge-verified { color: #0f5323; border-color: #0f5323; background: #e6f4ea; }
.badge-not-verified { color: #8a1c1c; border-color: #8a1c1c; background: #fdecea; }
.badge-absent, .badge-compliance-none { color: var(--muted); border-color: var(--line); background: var(--soft); }
.badge-compliance-attested, .badge-compliance-computed { color: #1b1f24; border-color: var(--line); background: #ffffff; }
.sev { display: inline-block; min-width: 2.6rem; margin-right: .2rem; padding: 0 .3rem; border-radius: 3px; font-size: .8rem; text-align: center; }
.sev-critical { background: #7a0c0c; color: #ffffff; }
.sev-high { background: #b3261e; color: #ffffff; }
.sev-medium { background: #8a5a00; color: #ffffff; }
.sev-low { background: #2d5f8b; color: #ffffff; }
.sev-unknown { background: #4a5460; color: #ffffff; }
.filters { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; margin: 1rem 0; }
.copy label { display: flex; gap: .5rem; align-items: center; margin: .25rem 0; }
.copy-label { min-width: 6rem; color: var(--muted); }
.copy-input { flex: 1; font-family: ui-monospace, "DejaVu Sans Mono", monospace; padding: .25rem; border: 1px solid var(--line); }
.copy button { padding: .2rem .6rem; }
.chart .grid { stroke: #d0d7de; }
.chart .axis { font-size: 11px; fill: #4a5460; }
.chart .line { stroke: #0b5cad; stroke-width: 2; }
.chart .point { fill: #0b5cad; }
.timeline li { margin-bottom: .4rem; }
.status-fail { color: #8a1c1c; font-weight: 600; }
.status-pass { color: #0f5323; }
.error { color: #8a1c1c; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
dt { font-weight: 600; }
dd { margin: 0 0 .5rem 1rem; overflow-wrap: anywhere; }
`;

/** /static/catalog.js: a copy button beside every read-only command field. */
export const CATALOG_JS = `
document.querySelectorAll('.copy-input').forEach(function (input) {
  if (!navigator.clipboard) return;
  var button = document.createElement('button');
  button.type = 'button';
  button.textContent = 'Copy';
  button.setAttribute('aria-label', 'Copy ' + input.getAttribute('aria-label'));
  button.addEventListener('click', function () {
    navigator.clipboard.writeText(input.value).then(function () { button.textContent = 'Copied'; });
  });
  input.parentNode.appendChild(button);
});
`;
