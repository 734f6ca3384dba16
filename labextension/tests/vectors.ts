/** The shared test vectors of the chart rules (tests/data/chart_rules.json at the repo root). */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const VECTORS_PATH = process.env.TRACKER_CHART_RULES ?? resolve(__dirname, '../../tests/data/chart_rules.json');
/** The group band vectors (tests/data/group_bands.json), shared with jupyter_tracker.numerics.bands. */
export const BAND_VECTORS_PATH = resolve(__dirname, '../../tests/data/group_bands.json');

function number(value: unknown): unknown {
  if (value === 'nan') return NaN;
  if (value === 'inf') return Infinity;
  if (value === '-inf') return -Infinity;
  if (Array.isArray(value)) return value.map(number);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, number(v)]));
  }
  return value;
}

/** Quote the bare NaN / Infinity / -Infinity tokens outside strings (Python's json writes them). */
function quoteBare(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i];
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    const bare = ['-Infinity', 'Infinity', 'NaN'].find(word => text.startsWith(word, i));
    if (bare) {
      out += `"${bare}"`;
      i += bare.length - 1;
      continue;
    }
    out += c;
  }
  return out;
}

/** Whether the shared vectors are there (they come with the Python side's tick and colour modules). */
export function haveVectors(): boolean {
  return existsSync(VECTORS_PATH);
}

/** The vectors, numbers JSON cannot hold ('nan', 'inf', '-inf', or bare NaN/Infinity) as numbers. */
export function loadVectors(path: string = VECTORS_PATH): any {
  const raw = JSON.parse(quoteBare(readFileSync(path, 'utf-8')), (_k, v) =>
    v === 'NaN' ? 'nan' : v === 'Infinity' ? 'inf' : v === '-Infinity' ? '-inf' : v
  );
  return number(raw);
}
