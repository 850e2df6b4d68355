/**
 * GET /: a plain server-rendered page (no script, nothing fetched from elsewhere) that
 * says what this daemon is, links its endpoints, and shows the attach plan and the
 * self-metrics that signal loss, so "no traffic" can be told from "missed".
 */
import { LOSS_METRICS } from '../view/sample';
import type { ViewSnapshot } from '../view/snapshot';

const ENDPOINTS: Array<[string, string]> = [
  ['/metrics', 'Prometheus metrics'],
  ['/ui/', 'live view (top processes, containers, pods, units)'],
  ['/api/v1/snapshot', 'JSON snapshot (docs/api.md)'],
  ['/healthz', 'liveness'],
  ['/readyz', 'readiness'],
];

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function landingPage(snapshot: ViewSnapshot): string {
  const { sockscope, plan, losses, totals } = snapshot;
  const links = ENDPOINTS.map(([href, what]) => `<li><a href="${href}">${escape(href)}</a> ${escape(what)}</li>`).join('\n');
  const hooks = plan.hooks
    .map((h) => {
      const state = h.implementation ?? (h.required ? 'MISSING (required)' : 'not attached');
      return `<tr${h.implementation ? '' : ' class="bad"'}><td>${escape(h.hook)}</td><td>${escape(state)}</td><td>${h.required ? 'yes' : 'no'}</td></tr>`;
    })
    .join('\n');
  const lossRows = Object.entries(LOSS_METRICS)
    .map(([key, def]) => {
      const value = losses[key] ?? 0;
      return `<tr${value > 0 ? ' class="bad"' : ''}><td>${escape(def.prometheusName)}</td><td class="n">${value}</td></tr>`;
    })
    .join('\n');
  const anyLoss = Object.values(losses).some((n) => n > 0);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>sockscope ${escape(sockscope.version)} on ${escape(sockscope.hostname)}</title>
<style>
body { font-family: sans-serif; margin: 2em; max-width: 60em; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.bad { background: #fdd; }
</style>
</head>
<body>
<h1>sockscope</h1>
<p>eBPF network metrics exporter, version ${escape(sockscope.version)}, on ${escape(sockscope.hostname)} (kernel ${escape(sockscope.kernel)}), as of ${escape(snapshot.time)}.</p>
<ul>
${links}
</ul>
<h2>Attach plan</h2>
<p>${escape(plan.summary)}</p>
<table>
<tr><th>hook</th><th>implementation</th><th>required</th></tr>
${hooks}
</table>
<h2>Loss</h2>
<p>${anyLoss ? 'Some data was lost: the counters in red say where (docs/counting.md).' : 'Nothing lost: every count below is 0.'}</p>
<table>
<tr><th>self-metric</th><th>total</th></tr>
${lossRows}
</table>
<h2>Totals</h2>
<p>${totals.txBytes} bytes sent, ${totals.rxBytes} bytes received, ${totals.activeConnections} active TCP connections.</p>
</body>
</html>
`;
}
