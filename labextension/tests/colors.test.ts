import { describe, expect, it } from 'vitest';

import { PALETTE, colorOf, colorsFor, fnv1a32 } from '../src/colors';
import { haveVectors, loadVectors } from './vectors';

/** The rule's own cases (FNV-1a 32 of the UTF-8 bytes, palette[hash % 8]), always run. */
const OWN = {
  palette: ['#1895e0', '#a95c03', '#147e6b', '#db0462', '#4f62e2', '#06a43f', '#c22da4', '#f945a3'],
  names: [
    { name: '', hash: 2166136261, color: '#06a43f' },
    { name: 'a', hash: 3826002220, color: '#4f62e2' },
    { name: 'train/loss', hash: 1483160133, color: '#06a43f' },
    { name: '\u635f\u5931', hash: 1063710163, color: '#db0462' }
  ],
  sets: [{ names: ['a', 'b', 'c'], colors: { a: '#4f62e2', b: '#06a43f', c: '#147e6b' } }]
};
const COLORS = haveVectors() ? loadVectors().colors : OWN;

describe(haveVectors() ? 'stable colours, as the Python side (shared vectors)' : 'stable colours (shared vectors absent)', () => {
  it('has the same palette', () => {
    expect(PALETTE).toEqual(COLORS.palette);
  });
  for (const { name, hash, color } of COLORS.names) {
    it(`colour of ${JSON.stringify(name)}`, () => {
      expect(fnv1a32(name)).toBe(hash);
      expect(colorOf(name)).toBe(color);
    });
  }
  for (const { names, colors } of COLORS.sets) {
    it(`a set of ${names.length} names`, () => {
      expect(colorsFor(names)).toEqual(colors);
    });
  }
});
