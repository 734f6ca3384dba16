import { describe, expect, it } from 'vitest';

import { Axis, axisFor, clockAxis, durationAxis, linearAxis, logAxis } from '../src/ticks';
import { loadVectors } from './vectors';

const VECTORS = loadVectors().ticks as { case: string; function: string; args: any; expect: Axis }[];

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

describe('the shared tick vectors', () => {
  it('has vectors', () => {
    expect(VECTORS.length).toBeGreaterThan(20);
  });
  for (const vector of VECTORS) {
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
