/**
 * The line chart of the top rows' traffic (tx+rx bytes/s) over the last minutes, drawn by
 * uPlot (bundled into the page at build time: no CDN). The plot is rebuilt only when the
 * set of rows changes; otherwise new points just replace its data.
 */
import type { History } from './api.js';
import { formatByteRate } from './format.js';

// Distinct on a white background, in the order the top rows get them.
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const HEIGHT = 260;

export class TrafficChart {
  private plot: uPlot | undefined;
  private seriesKey = '';

  constructor(private readonly container: HTMLElement) {
    window.addEventListener('resize', () => this.plot?.setSize({ width: this.width(), height: HEIGHT }));
  }

  show(history: History): void {
    const rows = history.rows.slice(0, COLORS.length);
    const data: uPlot.AlignedData = [
      history.times.map((ms) => ms / 1000),
      ...rows.map((row) => row.txBytesPerSecond.map((tx, i) => tx + (row.rxBytesPerSecond[i] ?? 0))),
    ];
    const key = rows.map((r) => `${r.id}\u0000${r.label}`).join('\n');
    if (this.plot !== undefined && key === this.seriesKey) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.seriesKey = key;
    this.plot = new uPlot(
      {
        width: this.width(),
        height: HEIGHT,
        scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(max, min, 1)] } },
        series: [
          {},
          ...rows.map((row, i) => ({
            label: row.label,
            stroke: COLORS[i],
            width: 2,
            value: (_u: uPlot, v: number | null) => (v === null ? '-' : formatByteRate(v)),
          })),
        ],
        axes: [{}, { size: 90, values: (_u, ticks) => ticks.map((v) => formatByteRate(v)) }],
      },
      data,
      this.container,
    );
  }

  private width(): number {
    return Math.max(320, this.container.clientWidth);
  }
}
