import { describe, expect, it } from 'vitest';

import { formatAgo, formatBytes, formatConfig, formatDuration, formatValue, syncLabel } from '../src/format';

describe('formatValue', () => {
  it.each([
    [0, '0'],
    [42, '42'],
    [-3, '\u22123'],
    [0.123456, '0.1235'],
    [1.5, '1.5'],
    [12345, '12.35k'],
    [2_500_000, '2.5M'],
    [0.00002, '2e-5'],
    [-0.005216, '\u22120.005216'],
    [NaN, 'NaN'],
    [Infinity, '∞'],
    [-Infinity, '\u2212∞'],
    [true, 'true'],
    ['adam', 'adam'],
    [null, ''],
    [{ _type: 'histogram', values: [1, 2], bins: [0, 1, 2] }, '<histogram>'],
    [{ a: 1 }, '{"a":1}']
  ])('%s reads %s', (value, text) => {
    expect(formatValue(value)).toBe(text);
  });
});

describe('times and sizes', () => {
  it('durations pick their unit', () => {
    expect(formatDuration(45)).toBe('45 s');
    expect(formatDuration(600)).toBe('10 min');
    expect(formatDuration(3.5 * 3600)).toBe('3.5 h');
    expect(formatDuration(3 * 86400)).toBe('3 d');
    expect(formatDuration(-1)).toBe('');
  });
  it('ago', () => {
    expect(formatAgo(1000, 1005)).toBe('just now');
    expect(formatAgo(1000, 1000 + 300)).toBe('5 min ago');
    expect(formatAgo(null)).toBe('');
  });
  it('bytes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1500)).toBe('1.5 kB');
    expect(formatBytes(20_000_000)).toBe('20 MB');
  });
  it('sync states and config values', () => {
    expect(syncLabel({ status: 'not-synced', message: 'x' })).toBe('not synced');
    expect(syncLabel({ status: 'ok', message: null })).toBe('synced');
    expect(syncLabel(null)).toBe('');
    expect(formatConfig({ a: 1 })).toBe('{"a":1}');
    expect(formatConfig(0.001)).toBe('0.001');
  });
});
