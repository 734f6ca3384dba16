/**
 * The data behind the charts: columns to lines, the x axis choices, step metrics,
 * groups of runs (mean and band), and the config keys that differ.
 */
import { Column, History, MetricDefinition } from './api';

/** Below this many points a series is drawn raw (with markers), not smoothed. */
export const SHORT_SERIES = 20;

export type XKind = 'step' | 'time' | 'relative' | { metric: string };

export interface Line {
  x: Float64Array;
  y: Float64Array;
  smoothed: Float64Array | null;
}

/** fnmatch-like glob to RegExp (`*` any run of characters, `?` one). */
export function globRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

/** The step metric `define_metric` gave `metric` (the last definition that matches wins). */
export function stepMetricOf(metric: string, definitions: MetricDefinition[] | undefined): string | null {
  let found: string | null = null;
  for (const def of definitions ?? []) {
    if (def && typeof def.name === 'string' && def.step_metric && globRegExp(def.name).test(metric)) {
      found = def.step_metric;
    }
  }
  return found;
}

/** The metrics that get charts: every key but `_`-prefixed ones and the step metrics. */
export function chartedMetrics(keys: string[], definitions: MetricDefinition[] | undefined): string[] {
  const steps = new Set<string>();
  for (const def of definitions ?? []) if (def && def.step_metric) steps.add(def.step_metric);
  return keys.filter(k => !k.startsWith('_') && !steps.has(k)).sort();
}

/**
 * Keys whose values only grow (never decrease), usable as an x axis: `epoch`, `tokens`...
 */
export function monotonicMetrics(history: History): string[] {
  const out: string[] = [];
  for (const [name, column] of Object.entries(history)) {
    const v = column.value;
    let ok = v.length > 1;
    for (let i = 1; ok && i < v.length; i++) if (!(v[i] >= v[i - 1])) ok = false;
    if (ok) out.push(name);
  }
  return out.sort();
}

/** The value of a step metric at each step of `steps`: its last value logged at or before that step. */
export function valuesAtSteps(steps: ArrayLike<number>, metric: Column): Float64Array {
  const out = new Float64Array(steps.length);
  let j = -1;
  for (let i = 0; i < steps.length; i++) {
    while (j + 1 < metric.step.length && metric.step[j + 1] <= steps[i]) j++;
    out[i] = j >= 0 ? metric.value[j] : NaN;
  }
  return out;
}

/** A column as a line on the chosen x axis (`start`: the run's first timestamp, for relative time). */
export function toLine(column: Column, x: XKind, start: number, stepMetric: Column | null = null): Line {
  let xs: Float64Array;
  if (x === 'step') xs = Float64Array.from(column.step);
  else if (x === 'time') xs = Float64Array.from(column.timestamp);
  else if (x === 'relative') xs = Float64Array.from(column.timestamp, t => t - start);
  else xs = stepMetric ? valuesAtSteps(column.step, stepMetric) : Float64Array.from(column.step);
  return {
    x: xs,
    y: Float64Array.from(column.value),
    smoothed: column.smoothed && column.value.length >= SHORT_SERIES ? Float64Array.from(column.smoothed) : null
  };
}

/** The earliest timestamp of a history (the run's start, as far as its points tell). */
export function firstTimestamp(history: History): number {
  let first = Infinity;
  for (const column of Object.values(history)) if (column.timestamp.length) first = Math.min(first, column.timestamp[0]);
  return Number.isFinite(first) ? first : 0;
}

/** The last finite value of a column, or null. */
export function lastValue(column: Column | undefined): number | null {
  if (!column) return null;
  for (let i = column.value.length - 1; i >= 0; i--) if (Number.isFinite(column.value[i])) return column.value[i];
  return null;
}

export interface Band {
  x: Float64Array;
  mean: Float64Array;
  lo: Float64Array;
  hi: Float64Array;
  /** Sample standard deviation (ddof=1; 0 with one run). */
  std: Float64Array;
  /** Standard error of the mean: std / sqrt(count). */
  sem: Float64Array;
  /** Runs contributing at each x. */
  count: Float64Array;
  runs: number;
}

export type BandKind = 'minmax' | 'std' | 'sem';

/** A line's points with a finite x, in x order (stable: points at one x keep their order). */
function cleanLine(x: ArrayLike<number>, y: ArrayLike<number>): { x: number[]; y: number[] } {
  const idx: number[] = [];
  for (let i = 0; i < x.length; i++) if (Number.isFinite(x[i])) idx.push(i);
  idx.sort((a, b) => x[a] - x[b] || a - b);
  return { x: idx.map(i => x[i]), y: idx.map(i => y[i]) };
}

/**
 * A group's mean line and band over its runs' lines, as jupyter_tracker.numerics.bands
 * computes it (shared vectors: tests/data/group_bands.json). Runs that logged different
 * x values are aligned on the union of their finite x values: each run contributes its
 * last value at or before each x (a step function, as the line is read), and only from
 * its first x to its last (no run is extended past where it stopped); a non-finite value
 * contributes nothing.
 */
export function groupBand(lines: Line[], useSmoothed = false): Band {
  const cleaned = lines.map(l => cleanLine(l.x, useSmoothed && l.smoothed ? l.smoothed : l.y));
  const xs = Array.from(new Set(cleaned.flatMap(l => l.x))).sort((a, b) => a - b);
  const n = xs.length;
  const values: number[][] = Array.from({ length: n }, () => []);
  for (const line of cleaned) {
    if (!line.x.length) continue;
    const last = line.x[line.x.length - 1];
    let j = -1;
    for (let i = 0; i < n; i++) {
      while (j + 1 < line.x.length && line.x[j + 1] <= xs[i]) j++;
      if (j < 0 || xs[i] > last) continue;
      const v = line.y[j];
      if (Number.isFinite(v)) values[i].push(v);
    }
  }
  const mean = new Float64Array(n).fill(NaN);
  const lo = new Float64Array(n).fill(NaN);
  const hi = new Float64Array(n).fill(NaN);
  const std = new Float64Array(n).fill(NaN);
  const sem = new Float64Array(n).fill(NaN);
  const count = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    count[i] = v.length;
    if (!v.length) continue;
    let sum = 0;
    for (const a of v) sum += a;
    mean[i] = sum / v.length;
    lo[i] = Math.min(...v);
    hi[i] = Math.max(...v);
    let squares = 0;
    for (const a of v) squares += (a - mean[i]) ** 2;
    std[i] = v.length > 1 ? Math.sqrt(squares / (v.length - 1)) : 0;
    sem[i] = std[i] / Math.sqrt(v.length);
  }
  return { x: Float64Array.from(xs), mean, lo, hi, std, sem, count, runs: lines.length };
}

/** The lower and upper edge of a band's shaded area: min/max, mean ± std or mean ± SEM. */
export function bandEdges(band: Band, kind: BandKind = 'minmax'): [Float64Array, Float64Array] {
  if (kind === 'minmax') return [band.lo, band.hi];
  const spread = kind === 'std' ? band.std : band.sem;
  return [band.mean.map((m, i) => m - spread[i]), band.mean.map((m, i) => m + spread[i])];
}

function canonical(value: unknown): string {
  if (value === undefined) return '\u0000missing';
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value as object).sort();
    return `{${keys.map(k => `${JSON.stringify(k)}:${canonical((value as any)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Flatten nested config dicts to dotted keys (`optimizer.lr`). */
export function flattenConfig(config: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config ?? {})) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value && typeof value === 'object' && !Array.isArray(value)) Object.assign(out, flattenConfig(value as any, name));
    else out[name] = value;
  }
  return out;
}

/** The config keys whose values differ across the runs (a key some run lacks differs), sorted. */
export function differingKeys(configs: Record<string, unknown>[]): string[] {
  const flat = configs.map(c => flattenConfig(c));
  const keys = new Set<string>();
  for (const c of flat) for (const k of Object.keys(c)) keys.add(k);
  return [...keys].filter(k => new Set(flat.map(c => canonical(c[k]))).size > 1).sort();
}

/** Runs grouped by the value of a config key (dotted), in order of first appearance. */
export function groupByConfig<T extends { config: Record<string, unknown> }>(runs: T[], key: string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const run of runs) {
    const value = flattenConfig(run.config)[key];
    const label = value === undefined ? '(none)' : typeof value === 'string' ? value : canonical(value);
    if (!groups.has(label)) groups.set(label, []);
    groups.get(label)!.push(run);
  }
  return groups;
}

/** The unit of a system metric from its key: `_percent` %, `_mb` MB, `_mb_s` MB/s, `_gb` GB. */
export function systemUnit(key: string): string {
  if (/_percent$|util/.test(key)) return '%';
  if (/_mb_s$/.test(key)) return 'MB/s';
  if (/_mb$/.test(key)) return 'MB';
  if (/_gb$/.test(key)) return 'GB';
  if (/_c$|temp/.test(key)) return '°C';
  if (/_w$|power/.test(key)) return 'W';
  return '';
}

/** System records as one column per key (x: the record's time). */
export function systemColumns(records: Record<string, number>[]): Record<string, { t: Float64Array; v: Float64Array }> {
  const keys = new Set<string>();
  for (const r of records) for (const k of Object.keys(r)) if (k !== '_timestamp' && typeof r[k] === 'number') keys.add(k);
  const out: Record<string, { t: Float64Array; v: Float64Array }> = {};
  for (const key of [...keys].sort()) {
    const rows = records.filter(r => typeof r[key] === 'number');
    out[key] = { t: Float64Array.from(rows, r => r._timestamp), v: Float64Array.from(rows, r => r[key]) };
  }
  return out;
}
