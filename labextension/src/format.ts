/** How numbers, times and states read in tables and headers. */

const MINUS = '\u2212';

/** A value for a table cell: up to 4 significant digits, SI from 10^4, scientific when tiny. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && typeof (value as { _type?: unknown })._type === 'string') {
    return `<${(value as { _type: string })._type}>`; // a media reference (image, histogram, table): its kind
  }
  if (typeof value !== 'number') return JSON.stringify(value);
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : `${MINUS}∞`;
  if (Number.isInteger(value) && Math.abs(value) < 1e4) return String(value).replace('-', MINUS);
  const magnitude = Math.abs(value);
  let text: string;
  if (magnitude === 0) text = '0';
  else if (magnitude >= 1e4) {
    const units: [number, string][] = [
      [1e12, 'T'],
      [1e9, 'G'],
      [1e6, 'M'],
      [1e3, 'k']
    ];
    const [size, suffix] = units.find(([s]) => magnitude >= s) as [number, string];
    text = trim((value / size).toPrecision(4)) + suffix;
    if (magnitude >= 1e15) text = value.toExponential(3).replace(/\.?0+e/, 'e').replace('e+', 'e');
  } else if (magnitude < 1e-3) {
    text = value.toExponential(3).replace(/\.?0+e/, 'e').replace('e+', 'e');
  } else {
    text = trim(value.toPrecision(4));
  }
  return text.replace(/^-/, MINUS);
}

function trim(text: string): string {
  return text.includes('.') && !text.includes('e') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}

/** A duration in seconds: "45 s", "12 min", "3.5 h", "2 d". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${trim((seconds / 3600).toFixed(1))} h`;
  return `${trim((seconds / 86400).toFixed(1))} d`;
}

/** A moment (seconds since the epoch) relative to `now`: "just now", "5 min ago", "3 d ago". */
export function formatAgo(when: number | null | undefined, now: number = Date.now() / 1000): string {
  if (when === null || when === undefined || !Number.isFinite(when)) return '';
  const delta = Math.max(0, now - when);
  if (delta < 10) return 'just now';
  return `${formatDuration(delta)} ago`;
}

/** A moment as local date and time: "2026-11-29 15:04". */
export function formatDate(when: number | null | undefined): string {
  if (when === null || when === undefined || !Number.isFinite(when)) return '';
  const d = new Date(when * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** A byte count: "512 B", "1.5 kB", "20 MB". */
export function formatBytes(size: number | null | undefined): string {
  if (size === null || size === undefined || !Number.isFinite(size)) return '';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = size;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${trim(value.toPrecision(3))} ${units[unit]}`;
}

/** What the sidebar says of a run's upload. */
export function syncLabel(sync: { status: string | null; message: string | null } | null | undefined): string {
  if (!sync || !sync.status) return '';
  const labels: Record<string, string> = {
    offline: 'offline',
    pending: 'syncing',
    ok: 'synced',
    done: 'synced',
    retrying: 'retrying',
    stopped: 'refused',
    'not-synced': 'not synced'
  };
  return labels[sync.status] ?? sync.status;
}

/** A short one-line rendering of a config value (for tables). */
export function formatConfig(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'number' || value === null || typeof value === 'boolean') return formatValue(value);
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}
