import { describe, expect, it } from 'vitest';

import { restoreFloats } from '../src/api';
import { align } from '../src/chart';
import {
  chartedMetrics,
  differingKeys,
  groupBand,
  groupByConfig,
  monotonicMetrics,
  stepMetricOf,
  systemColumns,
  systemUnit,
  toLine,
  valuesAtSteps
} from '../src/series';

const column = (step: number[], value: number[], smoothed?: number[]) => ({
  step,
  timestamp: step.map(s => 1000 + s),
  value,
  smoothed
});

describe('the wire format', () => {
  it('restores tagged floats anywhere', () => {
    const got = restoreFloats({ a: { $float: 'NaN' }, b: [1, { $float: 'Infinity' }, { $float: '-Infinity' }], c: { d: 2 } });
    expect(Number.isNaN(got.a)).toBe(true);
    expect(got.b).toEqual([1, Infinity, -Infinity]);
    expect(got.c).toEqual({ d: 2 });
  });
});

describe('which metrics get charts, on which x', () => {
  const defs = [{ name: 'val/*', step_metric: 'epoch' }, { name: 'lr', summary: 'last' }];
  it('step metrics and _keys get no chart', () => {
    expect(chartedMetrics(['val/acc', 'epoch', '_step', 'train/loss'], defs)).toEqual(['train/loss', 'val/acc']);
  });
  it('globs find the step metric', () => {
    expect(stepMetricOf('val/acc', defs)).toBe('epoch');
    expect(stepMetricOf('train/loss', defs)).toBeNull();
  });
  it('monotonic metrics can be an x axis', () => {
    const history = { epoch: column([0, 5, 9], [1, 2, 2]), loss: column([0, 1], [2, 1]), one: column([0], [1]) };
    expect(monotonicMetrics(history)).toEqual(['epoch']);
  });
  it('a step metric value at each step is its last value so far', () => {
    expect(Array.from(valuesAtSteps([0, 3, 5, 9, 10], column([3, 9], [1, 2])))).toEqual([NaN, 1, 1, 2, 2]);
  });
  it('lines: x choices, and short series stay raw', () => {
    const long = column([...Array(30).keys()], [...Array(30).keys()].map(i => i * 2), [...Array(30).keys()]);
    expect(Array.from(toLine(long, 'relative', 1000).x.slice(0, 3))).toEqual([0, 1, 2]);
    expect(toLine(long, 'step', 0).smoothed).not.toBeNull();
    const short = column([0, 1, 2], [3, 2, 1], [3, 2.5, 2]);
    expect(toLine(short, 'step', 0).smoothed).toBeNull();
  });
});

describe('groups', () => {
  it('mean and min/max over runs that logged different steps', () => {
    const a = { x: Float64Array.from([0, 2, 4]), y: Float64Array.from([1, 3, 5]), smoothed: null };
    const b = { x: Float64Array.from([0, 1, 2]), y: Float64Array.from([3, 3, 3]), smoothed: null };
    const band = groupBand([a, b]);
    expect(Array.from(band.x)).toEqual([0, 1, 2, 4]);
    expect(Array.from(band.mean)).toEqual([2, 2, 3, 5]); // at x=1 run a is still at 1; at 4 only a
    expect(Array.from(band.lo)).toEqual([1, 1, 3, 5]);
    expect(Array.from(band.hi)).toEqual([3, 3, 3, 5]);
    for (let i = 0; i < band.x.length; i++) {
      expect(band.lo[i]).toBeLessThanOrEqual(band.mean[i]);
      expect(band.mean[i]).toBeLessThanOrEqual(band.hi[i]);
    }
  });
  it('group by a config key, and the keys that differ', () => {
    const runs = [
      { id: 'a', config: { lr: 0.1, batch: 64, opt: { name: 'adam' } } },
      { id: 'b', config: { lr: 0.01, batch: 64, opt: { name: 'adam' } } },
      { id: 'c', config: { lr: 0.1, batch: 64, opt: { name: 'sgd' } }, extra: 1 }
    ];
    expect([...groupByConfig(runs, 'lr').entries()].map(([k, v]) => [k, v.map(r => r.id)])).toEqual([
      ['0.1', ['a', 'c']],
      ['0.01', ['b']]
    ]);
    expect(differingKeys(runs.map(r => r.config))).toEqual(['lr', 'opt.name']);
    expect(differingKeys([{ a: 1 }, { a: 1, b: 2 }])).toEqual(['b']);
  });
});

describe('system metrics and chart data', () => {
  it('units from keys', () => {
    expect(systemUnit('proc/cpu_percent')).toBe('%');
    expect(systemUnit('proc/rss_mb')).toBe('MB');
    expect(systemUnit('net/recv_mb_s')).toBe('MB/s');
    expect(systemUnit('gpu/0/util_percent')).toBe('%');
  });
  it('records to columns', () => {
    const cols = systemColumns([
      { _timestamp: 1, 'proc/cpu_percent': 5 },
      { _timestamp: 2, 'proc/cpu_percent': 7, 'gpu/0/util_percent': 50 }
    ] as any);
    expect(Object.keys(cols)).toEqual(['gpu/0/util_percent', 'proc/cpu_percent']);
    expect(Array.from(cols['gpu/0/util_percent'].t)).toEqual([2]);
  });
  it('aligns series with different x, gaps as null', () => {
    const data = align([Float64Array.from([0, 2]), Float64Array.from([1, 2])], [Float64Array.from([5, 6]), Float64Array.from([7, NaN])]);
    expect(Array.from(data[0] as Float64Array)).toEqual([0, 1, 2]);
    expect(data[1]).toEqual([5, null, 6]);
    expect(data[2]).toEqual([null, 7, null]);
  });
});
