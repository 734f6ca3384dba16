import { describe, expect, it } from 'vitest';

import { PALETTE, colorOf, colorsFor, fnv1a32 } from '../src/colors';
import { loadVectors } from './vectors';

const COLORS = loadVectors().colors;

describe('stable colours, as the Python side', () => {
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
