/**
 * Axes a reader can trust: the TypeScript port of `jupyter_tracker/numerics/ticks.py`.
 *
 * The rules (ranges from the finite values plus a padding in pixels, ticks at
 * 1, 2, 2.5 or 5 x 10^k, exact labels that are all different, no negative tick
 * for a series that never goes below zero, labels that never touch or spill)
 * are documented in the Python module; both sides are tested against the same
 * vectors (`tests/data/chart_rules.json`).
 *
 * Tick values are kept as an integer times a power of ten (`n x 10^e`, with
 * `n` a BigInt) until the end, so that labels are exact decimals.
 */

export interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
  labels: string[];
  /** e.g. values a log axis cannot show */
  note: string;
  /** the unit of the labels when it differs from the data's (durations) */
  unit: string;
}

/** Estimated width of one label character (12 px sans-serif digits), in pixels. */
export const CHAR_PX = 7.0;
/** Height of a label, in pixels. */
export const LABEL_PX = 14.0;
/** Empty space kept between two labels side by side, in pixels. */
export const GAP_PX = 16.0;
export const Y_SPACING_PX = 26.0;
export const X_SPACING_PX = 50.0;
export const MAX_TICKS = 8;
/** Values beyond this magnitude are clamped (the arithmetic of a range must stay finite). */
export const LIMIT = 1e300;
const MINUS = '\u2212';
const SI: Record<number, string> = { 3: 'k', 6: 'M', 9: 'G', 12: 'T', 15: 'P', 18: 'E' };
const DURATION_UNITS: [number, number, string][] = [
  [120.0, 1.0, 's'],
  [7200.0, 60.0, 'min'],
  [172800.0, 3600.0, 'h'],
  [Infinity, 86400.0, 'd']
];
const CLOCK_STEPS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
  2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400
];

export interface AxisOptions {
  vertical?: boolean;
  integer?: boolean;
  nonnegative?: boolean | null;
  padPx?: number;
  /** pixels beyond the low and the high end where labels may still be drawn */
  margins?: [number, number];
}

function axis(lo: number, hi: number, ticks: number[] = [], labels: string[] = [], note = '', unit = ''): Axis {
  return { lo, hi, ticks, labels, note, unit };
}

// ----------------------------------------------------------------------------- ranges

/** [min, max, count] of the finite values of all arrays; null if there is none. */
export function finiteRange(...arrays: ArrayLike<number>[]): [number, number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  let count = 0;
  for (const values of arrays) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        count++;
      }
    }
  }
  if (!count) return null;
  return [Math.max(lo, -LIMIT), Math.min(hi, LIMIT), count];
}

function centred(lo: number, hi: number, integer: boolean): [number, number] {
  if (hi - lo > 1e-9 * Math.max(Math.abs(lo), Math.abs(hi)) && (!integer || hi > lo)) {
    return [lo, hi];
  }
  let centre = lo / 2 + hi / 2;
  if (integer) {
    centre = pyRound(centre);
    return [centre - 1.0, centre + 1.0];
  }
  const half = Math.abs(centre) * 0.1 || 1.0;
  return [centre - half, centre + half];
}

/** Python's round(): halves to even. */
function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function padded(lo: number, hi: number, length: number, padPx: number): [number, number] {
  if (padPx <= 0) return [lo, hi];
  const inner = Math.max(length - 2 * padPx, 1.0);
  const pad = ((hi - lo) * padPx) / inner;
  return [lo - pad, hi + pad];
}

// ----------------------------------------------------------------------------- exact decimals

/** The decimal text of n x 10^e, exactly (no sign handling beyond n's own). */
function plainDecimal(n: bigint, e: number): string {
  const negative = n < 0n;
  let digits = (negative ? -n : n).toString();
  let text: string;
  if (e >= 0) {
    text = n === 0n ? '0' : digits + '0'.repeat(e);
  } else {
    const shift = -e;
    if (digits.length <= shift) digits = '0'.repeat(shift - digits.length + 1) + digits;
    text = digits.slice(0, digits.length - shift) + '.' + digits.slice(digits.length - shift);
  }
  return (negative ? '-' : '') + text;
}

/** n x 10^e with exactly `decimals` decimals (decimals >= -e: no rounding needed). */
function fixedText(n: bigint, e: number, decimals: number): string {
  let text = plainDecimal(n, e);
  const dot = text.indexOf('.');
  const have = dot < 0 ? 0 : text.length - dot - 1;
  if (decimals > have) text += (dot < 0 ? '.' : '') + '0'.repeat(decimals - have);
  return text;
}

function trimmed(n: bigint, e: number): string {
  let text = plainDecimal(n, e);
  if (text.includes('.')) text = text.replace(/0+$/, '').replace(/\.$/, '');
  return text;
}

/** floor(log10(|n x 10^e|)), exactly (n != 0). */
function exponentOf(n: bigint, e: number): number {
  return (n < 0n ? -n : n).toString().length - 1 + e;
}

function floorDiv(a: number, b: number): number {
  return Math.floor(a / b);
}

function siText(n: bigint, e: number): string {
  if (n === 0n) return '0';
  const power = 3 * floorDiv(exponentOf(n, e), 3);
  if (!(power in SI)) return scientificText(n, e);
  return (trimmed(n, e - power) + SI[power]).split('-').join(MINUS);
}

function scientificText(n: bigint, e: number): string {
  if (n === 0n) return '0';
  const power = exponentOf(n, e);
  const text = trimmed(n, e - power) + `e${power}`;
  return n < 0n ? text.replace('-', MINUS) : text;
}

function fixed(n: bigint, e: number, decimals: number): string {
  return fixedText(n, e, decimals).split('-').join(MINUS);
}

/** Labels of the ticks n x 10^e (n integers): exact, and all different. */
export function formatTicks(numbers: bigint[], e: number): string[] {
  let biggest = 0n;
  for (const n of numbers) {
    const a = n < 0n ? -n : n;
    if (a > biggest) biggest = a;
  }
  if (biggest === 0n) return numbers.map(() => '0');
  const top = exponentOf(biggest, e);
  if (top >= 4) return numbers.map(n => siText(n, e));
  if (top < -3) return numbers.map(n => scientificText(n, e));
  return numbers.map(n => fixed(n, e, Math.max(0, -e)));
}

/** One value on its own (log axes): plain from 0.001 to 9999, else scientific. */
function freeFormat(n: bigint, e: number): string {
  if (n === 0n) return '0';
  const top = exponentOf(n, e);
  if (top >= 4 || top < -3) return scientificText(n, e);
  return trimmed(n, e).split('-').join(MINUS);
}

/** The float nearest to n x 10^e. */
function valueOf(n: bigint | number, e: number): number {
  if (e >= 0) return Number(BigInt(n) * 10n ** BigInt(e));
  return Number(BigInt(n)) / 10 ** -e;
}

// ----------------------------------------------------------------------------- steps

/** Round steps [m, e] (m x 10^e, m in 1, 2, 25 (2.5 with e-1) and 5), smallest first. */
export function* niceSteps(span: number, integer = false): Generator<[number, number]> {
  if (!(span > 0) || !Number.isFinite(span)) span = 1.0;
  const start = Math.floor(Math.log10(span / (MAX_TICKS + 1))) - 1;
  for (let e = start; e < start + 40; e++) {
    for (const [m, shift] of [
      [1, 0],
      [2, 0],
      [25, -1],
      [5, 0]
    ]) {
      const step: [number, number] = [m, e + shift];
      if (integer && step[1] < 0) continue;
      yield step;
    }
  }
}

/** The smallest round step giving at most `count` intervals over `span`. */
export function niceStep(span: number, count: number, integer = false): [number, number] {
  for (const [m, e] of niceSteps(span, integer)) {
    if (valueOf(m, e) * count >= span * (1 - 1e-9)) return [m, e];
  }
  return [1, 0];
}

export function labelPx(label: string): number {
  return CHAR_PX * [...label].length;
}

function fits(ticks: number[], labels: string[], lo: number, hi: number, length: number, vertical: boolean): boolean {
  if (ticks.length < 2) return true;
  const scale = length / (hi / 2 - lo / 2) / 2;
  let least = Infinity;
  for (let i = 1; i < ticks.length; i++) least = Math.min(least, ticks[i] - ticks[i - 1]);
  const spacing = least * scale;
  if (vertical) return spacing >= Y_SPACING_PX;
  return spacing >= Math.max(Math.max(...labels.map(labelPx)) + GAP_PX, X_SPACING_PX);
}

function inside(
  ticks: number[],
  labels: string[],
  lo: number,
  hi: number,
  length: number,
  vertical: boolean,
  margins: [number, number]
): [number[], string[]] {
  const scale = length / (hi / 2 - lo / 2) / 2;
  const keepT: number[] = [];
  const keepL: string[] = [];
  ticks.forEach((tick, i) => {
    const at = (tick - lo) * scale;
    const half = (vertical ? LABEL_PX : labelPx(labels[i])) / 2;
    if (at - half >= -margins[0] - 0.5 && at + half <= length + margins[1] + 0.5) {
      keepT.push(tick);
      keepL.push(labels[i]);
    }
  });
  return [keepT, keepL];
}

function multiples(lo: number, hi: number, m: number, e: number): bigint[] {
  const size = valueOf(m, e);
  const first = Math.ceil(lo / size - 1e-9);
  const last = Math.floor(hi / size + 1e-9);
  if (last - first > 1000) return [];
  const out: bigint[] = [];
  const big = BigInt(first);
  for (let k = 0; k <= last - first; k++) out.push((big + BigInt(k)) * BigInt(m));
  return out;
}

// ----------------------------------------------------------------------------- axes

/** The axis of values from lo to hi drawn over `length` pixels. */
export function linearAxis(lo: number, hi: number, length: number, options: AxisOptions = {}): Axis {
  const vertical = !!options.vertical;
  const integer = !!options.integer;
  const margins = options.margins ?? [0, 0];
  lo = Math.max(lo, -LIMIT);
  hi = Math.min(hi, LIMIT);
  const nonnegative = options.nonnegative ?? lo >= 0;
  [lo, hi] = centred(lo, hi, integer);
  [lo, hi] = padded(lo, hi, length, options.padPx ?? 0);
  const span = 2 * (hi / 2 - lo / 2);
  let best: [number[], string[]] = [[], []];
  let finest: [number, number] | null = null;
  for (const [m, e] of niceSteps(span, integer)) {
    let numbers = multiples(lo, hi, m, e);
    if (nonnegative) numbers = numbers.filter(n => n >= 0n);
    if (numbers.length > MAX_TICKS) continue;
    if (numbers.length && finest === null) finest = [m, e];
    const ticks = numbers.map(n => valueOf(n, e));
    const labels = formatTicks(numbers, e);
    if (!fits(ticks, labels, lo, hi, length, vertical)) continue;
    const kept = inside(ticks, labels, lo, hi, length, vertical, margins);
    if (kept[0].length >= 2) return axis(lo, hi, kept[0], kept[1]);
    if (kept[0].length > best[0].length) best = kept;
    if (!numbers.length) break; // coarser steps have no multiples in the range either
  }
  if (!best[0].length && finest !== null) {
    // No round step gives labels that fit (a tiny range far from zero on a short axis):
    // one tick, the multiple of the finest step nearest the middle.
    const [m, e] = finest;
    let numbers = multiples(lo, hi, m, e);
    if (nonnegative) numbers = numbers.filter(n => n >= 0n);
    const middle = lo / 2 + hi / 2;
    let number = numbers[0];
    for (const n of numbers) {
      if (Math.abs(valueOf(n, e) - middle) < Math.abs(valueOf(number, e) - middle)) number = n;
    }
    best = inside([valueOf(number, e)], formatTicks([number], e), lo, hi, length, vertical, margins);
  }
  return axis(lo, hi, best[0], best[1]);
}

/** A log axis of the positive values from lo to hi (`dropped`: values <= 0 left out). */
export function logAxis(
  lo: number,
  hi: number,
  length: number,
  options: AxisOptions & { dropped?: number } = {}
): Axis {
  const vertical = !!options.vertical;
  const margins = options.margins ?? [0, 0];
  const dropped = options.dropped ?? 0;
  const note = dropped ? `${dropped} value${dropped !== 1 ? 's' : ''} \u2264 0 not drawn (log scale)` : '';
  let a = Math.log10(Math.max(lo, 1e-300));
  let b = Math.log10(Math.min(hi, LIMIT));
  if (b - a < 1e-9) {
    a -= 0.5;
    b += 0.5;
  }
  [a, b] = padded(a, b, length, options.padPx ?? 0);
  lo = 10.0 ** a;
  hi = 10.0 ** b;
  const powers: number[] = [];
  for (let p = Math.ceil(a - 1e-9); p <= Math.floor(b + 1e-9); p++) powers.push(p);
  const candidates: [number, number][][] = [];
  const first: [number, number][] = [];
  for (let p = Math.floor(a); p <= Math.ceil(b); p++) for (const m of [1, 2, 5]) first.push([m, p]);
  candidates.push(first);
  for (const [m, e] of niceSteps(powers.length + 1.0, true)) {
    const every = valueOf(m, e);
    if (every <= powers.length) {
      candidates.push(powers.filter(p => p % every === 0).map(p => [1, p] as [number, number]));
    }
  }
  for (let pairs of candidates) {
    pairs = pairs.filter(([m, p]) => a - 1e-9 <= Math.log10(m) + p && Math.log10(m) + p <= b + 1e-9);
    if (pairs.length > MAX_TICKS) continue;
    const at = pairs.map(([m, p]) => Math.log10(m) + p);
    let labels = pairs.map(([m, p]) => freeFormat(BigInt(m), p));
    if (!fits(at, labels, a, b, length, vertical)) continue;
    let kept: number[];
    [kept, labels] = inside(at, labels, a, b, length, vertical, margins);
    if (kept.length >= 2) {
      const ticks = pairs.filter((_, i) => kept.includes(at[i])).map(([m, p]) => valueOf(m, p));
      return axis(lo, hi, ticks, labels, note);
    }
  }
  const lin = linearAxis(lo, hi, length, { vertical, nonnegative: true, margins });
  const keep = lin.ticks.map((t, i) => [t, lin.labels[i]] as [number, string]).filter(([t]) => t > 0);
  return axis(
    lo,
    hi,
    keep.map(([t]) => t),
    keep.map(([, l]) => l),
    note
  );
}

/** Relative time in seconds, labelled in s, min, h or days (`unit`) by its length. */
export function durationAxis(lo: number, hi: number, length: number, options: AxisOptions = {}): Axis {
  let size = 1;
  let unit = 's';
  for (const [limit, s, u] of DURATION_UNITS) {
    size = s;
    unit = u;
    if (Math.max(hi, hi - lo) < limit) break;
  }
  const a = linearAxis(lo / size, hi / size, length, { nonnegative: lo >= 0, margins: options.margins });
  return axis(
    a.lo * size,
    a.hi * size,
    a.ticks.map(t => t * size),
    a.labels,
    '',
    unit
  );
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}

function strftimeUtc(fmt: string, seconds: number): string {
  const d = new Date(seconds * 1000);
  return fmt
    .replace('%m', two(d.getUTCMonth() + 1))
    .replace('%d', two(d.getUTCDate()))
    .replace('%H', two(d.getUTCHours()))
    .replace('%M', two(d.getUTCMinutes()))
    .replace('%S', two(d.getUTCSeconds()));
}

/** Wall time (seconds since the epoch) with ticks at round clock times in `utcOffset`. */
export function clockAxis(
  lo: number,
  hi: number,
  length: number,
  options: { utcOffset?: number; margins?: [number, number] } = {}
): Axis {
  const offset = options.utcOffset ?? 0;
  const margins = options.margins ?? [0, 0];
  if (hi - lo < 1.0) {
    lo -= 1.0;
    hi += 1.0;
  }
  let ticks: number[] = [];
  let labels: string[] = [];
  for (const step of CLOCK_STEPS) {
    const first = Math.ceil((lo + offset) / step);
    const last = Math.floor((hi + offset) / step);
    if (last - first + 1 > MAX_TICKS) continue;
    let fmt: string;
    if (step < 60) fmt = '%H:%M:%S';
    else if (step < 86400) fmt = hi - lo < 86400 ? '%H:%M' : '%m-%d %H:%M';
    else fmt = '%m-%d';
    ticks = [];
    labels = [];
    for (let k = first; k <= last; k++) {
      ticks.push(k * step - offset);
      labels.push(strftimeUtc(fmt, k * step));
    }
    if (fits(ticks, labels, lo, hi, length, false)) break;
  }
  [ticks, labels] = inside(ticks, labels, lo, hi, length, false, margins);
  return axis(lo, hi, ticks, labels);
}

function integral(values: ArrayLike<number>): boolean {
  let biggest = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v !== Math.round(v)) return false;
    biggest = Math.max(biggest, Math.abs(v));
  }
  return biggest < 2 ** 53;
}

/** The axis covering every finite value of `arrays` (all the lines of one chart). */
export function axisFor(
  arrays: ArrayLike<number>[],
  length: number,
  options: AxisOptions & { scale?: 'linear' | 'log' } = {}
): Axis {
  const { scale = 'linear', ...rest } = options;
  if (scale === 'log') {
    let dropped = 0;
    const positive: number[][] = [];
    for (const values of arrays) {
      const keep: number[] = [];
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (!Number.isFinite(v)) continue;
        if (v <= 0) dropped++;
        else keep.push(v);
      }
      positive.push(keep);
    }
    const found = finiteRange(...positive);
    if (found) return logAxis(found[0], found[1], length, { ...rest, dropped });
    const lin = axisFor(arrays, length, rest);
    return { ...lin, note: dropped ? 'no value > 0 to draw on a log scale' : lin.note };
  }
  const found = finiteRange(...arrays);
  if (!found) return axis(0.0, 1.0, [], [], 'no finite value');
  const integer = rest.integer ?? arrays.every(integral);
  return linearAxis(found[0], found[1], length, { ...rest, integer });
}
