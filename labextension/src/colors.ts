/**
 * Stable colours: the TypeScript port of `jupyter_tracker/numerics/colors.py`.
 *
 * The colour of a name (a metric key, a run id) is PALETTE[fnv1a32(utf8(name)) % 8],
 * the same in the live panel, the compare view and this extension, with no state kept.
 */

export const PALETTE = [
  '#1895e0', // blue
  '#a95c03', // brown orange
  '#147e6b', // teal
  '#db0462', // crimson
  '#4f62e2', // indigo
  '#06a43f', // green
  '#c22da4', // magenta
  '#f945a3' // pink
];

const encoder = new TextEncoder();

/** 32-bit FNV-1a hash of the UTF-8 bytes of `text`. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of encoder.encode(text)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h >>> 0;
}

export function colorIndex(name: string): number {
  return fnv1a32(name) % PALETTE.length;
}

/** The colour of `name` (a metric key, or a run id): #rrggbb. */
export function colorOf(name: string): string {
  return PALETTE[colorIndex(name)];
}

function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i].codePointAt(0) ?? 0) - (y[i].codePointAt(0) ?? 0);
    if (d) return d;
  }
  return x.length - y.length;
}

/**
 * A colour per name, each name's own colour when it is free in this set: names are
 * served in sorted order, a name whose colour is taken gets the next free entry after
 * it; once all eight are taken, names keep their own colours (shared).
 */
export function colorsFor(names: Iterable<string>): Record<string, string> {
  const taken = new Set<number>();
  const out: Record<string, string> = {};
  for (const name of [...new Set(names)].sort(byCodePoint)) {
    let index = colorIndex(name);
    if (taken.size < PALETTE.length) {
      while (taken.has(index)) index = (index + 1) % PALETTE.length;
      taken.add(index);
    }
    out[name] = PALETTE[index];
  }
  return out;
}
