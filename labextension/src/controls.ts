/**
 * The chart controls shared by the run view and the compare view: smoothing (the
 * notebook panel's kinds), the x axis, a log scale, and a metric filter.
 */
import { Signal } from '@lumino/signaling';

import { XKind } from './series';

export const SMOOTHING_KINDS: [string, string, number][] = [
  ['ema', 'EMA (TensorBoard)', 0.6],
  ['time-ema', 'time-weighted EMA', 0.6],
  ['average', 'running average', 10],
  ['gaussian', 'Gaussian', 2],
  ['none', 'no smoothing', 0]
];

export interface ChartSettings {
  smoothing: string;
  amount: number;
  x: XKind;
  logY: boolean;
  filter: string;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

export function xKey(x: XKind): string {
  return typeof x === 'string' ? x : `metric:${x.metric}`;
}

export class ChartControls {
  readonly node = el('div', 'tracker-controls');
  readonly changed = new Signal<this, ChartSettings>(this);
  settings: ChartSettings = { smoothing: 'ema', amount: 0.6, x: 'step', logY: false, filter: '' };
  private kind = el('select', 'tracker-smoothing');
  private amount = el('input', 'tracker-smoothing-amount');
  private xSelect = el('select', 'tracker-x-axis');
  private log = el('input', 'tracker-log-y');
  readonly filter = el('input', 'tracker-metric-filter');

  constructor() {
    for (const [value, label] of SMOOTHING_KINDS) {
      const o = el('option', '', label);
      o.value = value;
      this.kind.append(o);
    }
    this.kind.title = 'Smoothing (computed on every point, on the server)';
    this.amount.type = 'number';
    this.amount.step = 'any';
    this.amount.value = '0.6';
    this.amount.title = 'Weight of the EMAs (0 to 0.999), window in points, or sigma in x units';
    this.log.type = 'checkbox';
    this.filter.type = 'search';
    this.filter.placeholder = 'Filter metrics';
    this.filter.hidden = true;
    this.setXOptions([]);
    const logLabel = el('label', 'tracker-log-label');
    logLabel.append(this.log, document.createTextNode(' log y'));
    const xLabel = el('label', '', 'x ');
    xLabel.append(this.xSelect);
    this.node.append(this.kind, this.amount, xLabel, logLabel, this.filter);
    this.kind.addEventListener('change', () => {
      const preset = SMOOTHING_KINDS.find(k => k[0] === this.kind.value);
      if (preset) this.amount.value = String(preset[2]);
      this.amount.disabled = this.kind.value === 'none';
      this.emit();
    });
    this.amount.addEventListener('change', () => this.emit());
    this.xSelect.addEventListener('change', () => this.emit());
    this.log.addEventListener('change', () => this.emit());
    this.filter.addEventListener('input', () => this.emit());
  }

  /** The x axis choices: step, wall time, relative time and each metric that never decreases. */
  setXOptions(metrics: string[]): void {
    const chosen = this.xSelect.value || 'step';
    const wanted = ['step', 'time', 'relative', ...metrics.map(m => `metric:${m}`)];
    const now = Array.from(this.xSelect.options).map(o => o.value);
    if (now.join('\u0001') === wanted.join('\u0001')) return;
    this.xSelect.textContent = '';
    for (const value of wanted) {
      const label = value === 'step' ? 'step' : value === 'time' ? 'wall time' : value === 'relative' ? 'relative time' : value.slice(7);
      const o = el('option', '', label);
      o.value = value;
      this.xSelect.append(o);
    }
    this.xSelect.value = wanted.includes(chosen) ? chosen : 'step';
  }

  /** Show the metric filter once there are more than a dozen charts. */
  showFilter(count: number): void {
    this.filter.hidden = count <= 12 && !this.filter.value;
  }

  private emit(): void {
    const x = this.xSelect.value;
    const amount = Number(this.amount.value);
    this.settings = {
      smoothing: this.kind.value,
      amount: Number.isFinite(amount) ? amount : 0.6,
      x: x.startsWith('metric:') ? { metric: x.slice(7) } : (x as XKind),
      logY: this.log.checked,
      filter: this.filter.value.trim().toLowerCase()
    };
    this.changed.emit(this.settings);
  }
}
