/**
 * One line chart on a canvas (uPlot), with the project's axes: ranges, round ticks and
 * exact labels from ticks.ts (the rules of the notebook panel), colours from colors.ts,
 * and the theme's text and grid colours from JupyterLab's CSS variables.
 */
import uPlot, { AlignedData, Options, Series } from 'uplot';

import { formatValue } from './format';
import { XKind } from './series';
import { Axis, axisFor, clockAxis, durationAxis, labelPx } from './ticks';

export interface ChartLine {
  label: string;
  color: string;
  x: Float64Array;
  y: Float64Array;
  /** the smoothed line: drawn bold over the faint raw one */
  smoothed?: Float64Array | null;
}

export interface ChartBand {
  label: string;
  color: string;
  x: Float64Array;
  mean: Float64Array;
  lo: Float64Array;
  hi: Float64Array;
}

export interface ChartSpec {
  title: string;
  lines: ChartLine[];
  bands?: ChartBand[];
  x: XKind;
  logY?: boolean;
  /** the unit of y, shown after the title */
  unit?: string;
  /** text after the title: the last value */
  subtitle?: string;
}

const HEIGHT = 200;
const X_AXIS_PX = 28;
const PAD = { top: 8, right: 14, bottom: 0, left: 0 };
const Y_PAD_PX = 8;

interface Theme {
  text: string;
  muted: string;
  grid: string;
  font: string;
}

function theme(node: HTMLElement): Theme {
  const style = getComputedStyle(node);
  const v = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  const family = v('--jp-ui-font-family', 'sans-serif');
  return {
    text: v('--jp-ui-font-color1', '#212121'),
    muted: v('--jp-ui-font-color2', '#616161'),
    grid: v('--jp-border-color2', '#e0e0e0'),
    font: `12px ${family}`
  };
}

function withAlpha(color: string, alpha: number): string {
  const hex = color.replace('#', '');
  const a = Math.round(alpha * 255)
    .toString(16)
    .padStart(2, '0');
  return hex.length === 6 ? `#${hex}${a}` : color;
}

/** Whether every series has the same x values. */
export function sameX(xs: Float64Array[]): boolean {
  return xs.every(x => x.length === xs[0].length && x.every((v, i) => v === xs[0][i]));
}

/** The x values of all series, merged and sorted, and each series' y on them (null where it has none). */
export function align(xs: Float64Array[], ys: Float64Array[]): AlignedData {
  if (sameX(xs)) return [xs[0] ?? new Float64Array(0), ...ys.map(y => Array.from(y, v => (Number.isFinite(v) ? v : null)))];
  const all = Array.from(new Set(xs.flatMap(x => Array.from(x).filter(Number.isFinite)))).sort((a, b) => a - b);
  const index = new Map(all.map((v, i) => [v, i]));
  const out: (number | null)[][] = ys.map(() => new Array(all.length).fill(null));
  ys.forEach((y, s) => {
    const x = xs[s];
    for (let i = 0; i < x.length; i++) {
      const at = index.get(x[i]);
      if (at !== undefined && Number.isFinite(y[i])) out[s][at] = y[i];
    }
  });
  return [Float64Array.from(all), ...out];
}

export class Chart {
  readonly node: HTMLDivElement;
  private plot: uPlot | null = null;
  private spec: ChartSpec | null = null;
  private header: HTMLDivElement;
  private body: HTMLDivElement;
  private observer: ResizeObserver;
  private width = 0;
  /** the axes as last drawn (tests read the labels from the DOM instead) */
  xAxis: Axis | null = null;
  yAxis: Axis | null = null;

  constructor(className = '') {
    this.node = document.createElement('div');
    this.node.className = `tracker-chart ${className}`.trim();
    this.header = document.createElement('div');
    this.header.className = 'tracker-chart-title';
    this.body = document.createElement('div');
    this.body.className = 'tracker-chart-body';
    this.node.append(this.header, this.body);
    this.observer = new ResizeObserver(() => {
      const width = Math.floor(this.body.clientWidth);
      if (width > 0 && Math.abs(width - this.width) >= 2) {
        this.width = width;
        this.redraw();
      }
    });
    this.observer.observe(this.body);
  }

  update(spec: ChartSpec): void {
    this.spec = spec;
    this.redraw();
  }

  /** Draw again (a theme change, a resize). */
  redraw(): void {
    const spec = this.spec;
    const width = Math.floor(this.body.clientWidth) || this.width;
    if (!spec || width <= 0) return;
    this.width = width;
    const th = theme(this.node);
    this.header.textContent = '';
    const title = document.createElement('span');
    title.className = 'tracker-chart-name';
    title.textContent = spec.title + (spec.unit ? ` (${spec.unit})` : '');
    this.header.append(title);
    if (spec.subtitle) {
      const sub = document.createElement('span');
      sub.className = 'tracker-chart-last';
      sub.textContent = spec.subtitle;
      this.header.append(sub);
    }

    const xs: Float64Array[] = [];
    const ys: Float64Array[] = [];
    const series: Series[] = [{ label: this.xLabel(spec.x), value: (_u, v) => this.formatX(spec.x, v) }];
    const bands: uPlot.Band[] = [];
    const yArrays: Float64Array[] = [];
    const xArrays: Float64Array[] = [];
    for (const band of spec.bands ?? []) {
      const hiIndex = ys.length + 1;
      for (const [values, label] of [
        [band.hi, `${band.label} max`],
        [band.lo, `${band.label} min`]
      ] as [Float64Array, string][]) {
        xs.push(band.x);
        ys.push(values);
        series.push({ label, stroke: withAlpha(band.color, 0.25), width: 0.5, points: { show: false }, value: (_u, v) => formatValue(v) });
      }
      bands.push({ series: [hiIndex, hiIndex + 1], fill: withAlpha(band.color, 0.2) });
      xs.push(band.x);
      ys.push(band.mean);
      series.push({ label: band.label, stroke: band.color, width: 2, points: { show: false }, value: (_u, v) => formatValue(v) });
      yArrays.push(band.hi, band.lo, band.mean);
      xArrays.push(band.x);
    }
    for (const line of spec.lines) {
      const short = !line.smoothed;
      xs.push(line.x);
      ys.push(line.y);
      series.push({
        label: line.smoothed ? `${line.label} (raw)` : line.label,
        stroke: line.smoothed ? withAlpha(line.color, 0.3) : line.color,
        width: line.smoothed ? 1 : 1.5,
        points: { show: short && line.x.length <= 60, size: 5, fill: line.color },
        spanGaps: true,
        value: (_u, v) => formatValue(v)
      });
      yArrays.push(line.y);
      xArrays.push(line.x);
      if (line.smoothed) {
        xs.push(line.x);
        ys.push(line.smoothed);
        series.push({ label: line.label, stroke: line.color, width: 2, points: { show: false }, spanGaps: true, value: (_u, v) => formatValue(v) });
        yArrays.push(line.smoothed);
      }
    }

    const plotHeight = HEIGHT - X_AXIS_PX - PAD.top;
    const yAxis = axisFor(yArrays, plotHeight, { vertical: true, padPx: Y_PAD_PX, scale: spec.logY ? 'log' : 'linear', margins: [4, PAD.top] });
    const yWidth = Math.max(28, ...yAxis.labels.map(labelPx)) + 12;
    const plotWidth = Math.max(40, width - yWidth - PAD.right);
    const xAxis = this.axisX(spec.x, xArrays, plotWidth);
    if (xAxis.unit) series[0].label = `${this.xLabel(spec.x)} (${xAxis.unit})`;
    this.xAxis = xAxis;
    this.yAxis = yAxis;
    this.node.dataset.xTicks = JSON.stringify(xAxis.labels);
    this.node.dataset.yTicks = JSON.stringify(yAxis.labels);
    this.node.dataset.yNote = yAxis.note;

    const axisStyle = {
      stroke: th.text,
      font: th.font,
      grid: { stroke: th.grid, width: 1 },
      ticks: { stroke: th.grid, width: 1, size: 4 }
    };
    const options: Options = {
      width,
      height: HEIGHT,
      padding: [PAD.top, PAD.right, PAD.bottom, PAD.left],
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: {
        x: { time: false, range: () => [xAxis.lo, xAxis.hi] },
        y: spec.logY ? { distr: 3, range: () => [yAxis.lo, yAxis.hi] } : { range: () => [yAxis.lo, yAxis.hi] }
      },
      axes: [
        { ...axisStyle, size: X_AXIS_PX, gap: 4, splits: () => xAxis.ticks, values: () => xAxis.labels },
        { ...axisStyle, size: yWidth, gap: 4, splits: () => yAxis.ticks, values: () => yAxis.labels }
      ],
      series,
      bands
    };
    // Lines with different x values (runs decimated each their own way) are drawn each on its own
    // x (uPlot's mode 2): aligning them on the union of their x values would make every line as
    // long as all of them together. Bands need aligned data (mode 1).
    const ragged = !bands.length && xs.length > 1 && !sameX(xs);
    let data: AlignedData;
    if (ragged) {
      options.mode = 2;
      for (const s of series.slice(1)) s.facets = [{ scale: 'x', auto: false }, { scale: 'y', auto: false }];
      data = [null, ...xs.map((x, i) => [x, Array.from(ys[i], v => (Number.isFinite(v) ? v : null))])] as unknown as AlignedData;
    } else {
      data = align(xs, ys);
    }
    if (this.plot) this.plot.destroy();
    this.plot = new uPlot(options, data, this.body);
    // the legend names each line once: the faint raw line and a band's edges stay out of it
    const hidden = new Set(series.slice(1).map(s => String(s.label ?? '')).filter(l => l.endsWith(' (raw)') || / (max|min)$/.test(l)));
    for (const row of this.body.querySelectorAll('.u-legend .u-series')) {
      if (hidden.has(row.querySelector('.u-label')?.textContent ?? '')) row.classList.add('tracker-legend-hidden');
    }
    if (yAxis.note) {
      const note = document.createElement('span');
      note.className = 'tracker-chart-note';
      note.textContent = yAxis.note;
      this.header.append(note);
    }
  }

  private axisX(x: XKind, arrays: Float64Array[], length: number): Axis {
    const margins: [number, number] = [8, PAD.right];
    if (x === 'time') {
      const lo = Math.min(...arrays.map(a => (a.length ? a[0] : Infinity)));
      const hi = Math.max(...arrays.map(a => (a.length ? a[a.length - 1] : -Infinity)));
      return Number.isFinite(lo) ? clockAxis(lo, hi, length, { utcOffset: -new Date().getTimezoneOffset() * 60, margins }) : axisFor([], length);
    }
    if (x === 'relative') {
      const hi = Math.max(0, ...arrays.map(a => (a.length ? a[a.length - 1] : 0)));
      return durationAxis(0, hi, length, { margins });
    }
    return axisFor(arrays, length, { margins, integer: x === 'step' ? true : undefined });
  }

  private xLabel(x: XKind): string {
    if (x === 'step') return 'step';
    if (x === 'time') return 'time';
    if (x === 'relative') return 'elapsed';
    return x.metric;
  }

  private formatX(x: XKind, v: number | null): string {
    if (v === null || v === undefined) return '';
    if (x === 'time') return new Date(v * 1000).toLocaleTimeString();
    if (x === 'relative') return formatValue(Math.round(v * 10) / 10) + ' s';
    return formatValue(v);
  }

  dispose(): void {
    this.observer.disconnect();
    if (this.plot) this.plot.destroy();
    this.plot = null;
    this.node.remove();
  }
}
