import { describe, expect, it } from 'vitest';

import { Axis, axisFor, clockAxis, durationAxis, linearAxis, logAxis } from '../src/ticks';
import { haveVectors, loadVectors } from './vectors';

type Vector = { case: string; function: string; args: any; expect: Axis };
const VECTORS: Vector[] = haveVectors() ? loadVectors().ticks : [];

/** Cases of the rules of issue 10 (the same as the shared vectors' first ones), always run. */
const OWN: Vector[] = [
  {
    case: 'epochs 1..5: integer ticks, the ends labelled',
    function: 'linear_axis',
    args: { lo: 1, hi: 5, length: 238, integer: true, margins: [44, 18] },
    expect: { lo: 1, hi: 5, ticks: [1, 2, 3, 4, 5], labels: ['1', '2', '3', '4', '5'], note: '', unit: '' }
  },
  {
    case: 'steps 0..3014: no negative step, round thousands',
    function: 'linear_axis',
    args: { lo: 0, hi: 3014, length: 238, integer: true, margins: [44, 18] },
    expect: { lo: 0, hi: 3014, ticks: [0, 1000, 2000, 3000], labels: ['0', '1000', '2000', '3000'], note: '', unit: '' }
  },
  {
    case: 'a positive loss padded below zero gets no negative tick',
    function: 'linear_axis',
    args: { lo: 0.0213, hi: 2.15, length: 154, vertical: true, pad_px: 8, margins: [4, 6] },
    expect: {
      lo: 0.0213 - (2.15 - 0.0213) * 8 / 138,
      hi: 2.15 + (2.15 - 0.0213) * 8 / 138,
      ticks: [0, 0.5, 1, 1.5, 2],
      labels: ['0.0', '0.5', '1.0', '1.5', '2.0'],
      note: '',
      unit: ''
    }
  },
  {
    case: 'huge ranges stay finite',
    function: 'linear_axis',
    args: { lo: -1e300, hi: 1e300, length: 154, vertical: true, margins: [4, 6] },
    expect: { lo: -1e300, hi: 1e300, ticks: [-5e299, 0, 5e299], labels: ['\u22125e299', '0', '5e299'], note: '', unit: '' }
  }
];

function options(args: any): any {
  const out: any = {};
  for (const [key, value] of Object.entries(args)) {
    const camel = key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
    out[camel] = value;
  }
  return out;
}

function run(fn: string, args: any): Axis {
  const { lo, hi, length, arrays, ...rest } = options(args);
  switch (fn) {
    case 'linear_axis':
      return linearAxis(lo, hi, length, rest);
    case 'log_axis':
      return logAxis(lo, hi, length, rest);
    case 'duration_axis':
      return durationAxis(lo, hi, length, rest);
    case 'clock_axis':
      return clockAxis(lo, hi, length, rest);
    case 'axis_for':
      return axisFor(arrays, length, rest);
  }
  throw new Error(`no port of ${fn}`);
}

function close(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
}

describe(haveVectors() ? 'the shared tick vectors' : 'the rules (shared vectors absent)', () => {
  for (const vector of [...OWN, ...VECTORS]) {
    it(`${vector.function}: ${vector.case}`, () => {
      const got = run(vector.function, vector.args);
      const want = vector.expect;
      expect(got.labels).toEqual(want.labels);
      expect(got.note).toEqual(want.note);
      expect(got.unit).toEqual(want.unit);
      expect(close(got.lo, want.lo), `lo ${got.lo} != ${want.lo}`).toBe(true);
      expect(close(got.hi, want.hi), `hi ${got.hi} != ${want.hi}`).toBe(true);
      expect(got.ticks.length).toBe(want.ticks.length);
      got.ticks.forEach((t, i) => expect(close(t, want.ticks[i]), `tick ${t} != ${want.ticks[i]}`).toBe(true));
    });
  }
});

describe('properties a reader relies on', () => {
  it('labels are distinct and increasing for many ranges', () => {
    for (let k = 0; k < 500; k++) {
      const lo = (Math.sin(k) * 10) ** 3;
      const hi = lo + Math.abs(Math.cos(k * 7)) * 10 ** ((k % 12) - 4);
      const a = linearAxis(lo, hi, 150 + (k % 5) * 40, { vertical: k % 2 === 0, padPx: 8 });
      expect(new Set(a.labels).size).toBe(a.labels.length);
      for (let i = 1; i < a.ticks.length; i++) expect(a.ticks[i]).toBeGreaterThan(a.ticks[i - 1]);
    }
  });
  it('integer axes get integer ticks and no negative step', () => {
    const a = linearAxis(0, 7, 238, { integer: true });
    expect(a.ticks.every(t => Number.isInteger(t) && t >= 0)).toBe(true);
  });
});
