import { describe, expect, it } from 'vitest';

import { bandEdges, groupBand } from '../src/series';
import { BAND_VECTORS_PATH, loadVectors } from './vectors';

const vectors: any[] = loadVectors(BAND_VECTORS_PATH).bands;

function close(got: ArrayLike<number>, want: number[], what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i])) expect(Number.isNaN(got[i]), `${what}[${i}]`).toBe(true);
    else expect(Math.abs(got[i] - want[i]), `${what}[${i}]: ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want[i])));
  }
}

describe('group bands: the vectors shared with jupyter_tracker.numerics.bands', () => {
  it('there are vectors', () => expect(vectors.length).toBeGreaterThanOrEqual(5));
  for (const vector of vectors) {
    it(vector.case, () => {
      const lines = vector.lines.map(([x, y]: number[][]) => ({ x: Float64Array.from(x), y: Float64Array.from(y), smoothed: null }));
      const band = groupBand(lines);
      const e = vector.expect;
      expect(band.runs).toBe(e.runs);
      close(band.count, e.count, 'count');
      for (const name of ['x', 'mean', 'lo', 'hi', 'std', 'sem'] as const) close(band[name], e[name], name);
      for (const kind of ['std', 'sem'] as const) {
        const [lo, hi] = bandEdges(band, kind);
        close(lo, e[`${kind}_edges`][0], `${kind} lo`);
        close(hi, e[`${kind}_edges`][1], `${kind} hi`);
      }
    });
  }
});
