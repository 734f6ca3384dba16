/**
 * The lab server's REST API (`/tracker/api/`), in the tracking server's shapes (docs/api.md).
 *
 * Requests go through JupyterLab's ServerConnection, so they carry the user's
 * token or cookie and the XSRF header; the tracking server's own token never
 * reaches the browser. Numbers JSON cannot hold arrive as {"$float": "NaN"}.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export type SourceId = 'local' | 'server';

export interface SourceInfo {
  id: SourceId;
  label: string;
  host?: string;
  dirs?: string[];
}

export interface SyncStatus {
  status: string | null;
  message: string | null;
}

export interface RunResource {
  id: string;
  project: string | null;
  name: string | null;
  group: string | null;
  job_type: string | null;
  tags: string[];
  notes: string | null;
  state: string;
  exit_code: number | null;
  created_at: number | null;
  updated_at: number | null;
  heartbeat_at: number | null;
  last_step: number | null;
  hwm: { events: number; system: number };
  summary: Record<string, unknown>;
  config: Record<string, unknown>;
  /** local runs: the upload state (sync.json) */
  sync?: SyncStatus | null;
  /** local runs: changes whenever the run's files change */
  rev?: string;
  dir?: string;
  info?: Record<string, unknown>;
  metrics?: MetricDefinition[];
  missing?: Record<string, number[][]>;
  missing_records?: Record<string, number>;
  read_report?: ReadReport;
}

export interface MetricDefinition {
  name: string;
  step_metric?: string | null;
  summary?: string | null;
  hidden?: boolean;
}

export interface ReadReport {
  records: number;
  corrupt: number;
  missing: number;
  torn_tail: boolean;
  problems: string[];
}

/** One metric's points: the history schema. */
export interface Column {
  step: number[];
  timestamp: number[];
  value: number[];
  /** the smoothed value at each point, computed on every point (when asked) */
  smoothed?: number[];
}

export type History = Record<string, Column>;

export interface FileInfo {
  path: string;
  size: number | null;
  uploaded_at: number | null;
}

export type SystemRecord = Record<string, number> & { _timestamp: number };

export interface Status {
  run: RunResource | null;
  live: number;
}

export const LIVE_STATES = ['running', 'service-stopped'];

/** Replace {"$float": "NaN" | "Infinity" | "-Infinity"} tags by numbers, in place. */
export function restoreFloats(value: any): any {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (item !== null && typeof item === 'object') value[i] = restoreFloats(item);
    }
    return value;
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '$float') {
      const tag = value.$float;
      return tag === 'Infinity' ? Infinity : tag === '-Infinity' ? -Infinity : NaN;
    }
    for (const key of keys) {
      const item = value[key];
      if (item !== null && typeof item === 'object') value[key] = restoreFloats(item);
    }
  }
  return value;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
  }
}

export interface Answer<T> {
  value: T;
  etag: string | null;
  notes: string[];
  /** the server said 304: nothing changed since the ETag given (value is null then) */
  unchanged?: boolean;
}

/** Requests to /tracker/api/ with the lab's credentials. */
export class TrackerApi {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  url(path: string, params: Record<string, string | number | undefined | null> = {}): string {
    const query = Object.entries(params)
      .filter(([, v]) => v !== undefined && v !== null && v !== '')
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    const base = URLExt.join(this.settings.baseUrl, 'tracker', 'api', path);
    return query ? `${base}?${query}` : base;
  }

  async get<T>(
    path: string,
    params: Record<string, string | number | undefined | null> = {},
    etag: string | null = null
  ): Promise<Answer<T>> {
    const init: RequestInit = { method: 'GET', cache: 'no-store' };
    if (etag) init.headers = { 'If-None-Match': etag };
    const response = await ServerConnection.makeRequest(this.url(path, params), init, this.settings);
    if (response.status === 304) return { value: null as T, etag, notes: [], unchanged: true };
    const text = await response.text();
    let body: any = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (!response.ok) {
      const message = body && typeof body.error === 'string' ? body.error : `${response.status} ${response.statusText}`;
      throw new ApiError(response.status, message);
    }
    let notes: string[] = [];
    try {
      notes = JSON.parse(response.headers.get('X-Tracker-Notes') || '[]');
    } catch {
      notes = [];
    }
    return { value: restoreFloats(body) as T, etag: response.headers.get('Etag'), notes };
  }

  sources(): Promise<Answer<SourceInfo[]>> {
    return this.get('sources');
  }

  runs(
    source: SourceId,
    params: { project?: string; state?: string; filters?: object; order?: string; limit?: number },
    etag: string | null = null
  ) {
    return this.get<RunResource[]>(
      'runs',
      {
        source,
        project: params.project,
        state: params.state,
        filters: params.filters ? JSON.stringify(params.filters) : undefined,
        order: params.order,
        limit: params.limit ?? 1000
      },
      etag
    );
  }

  run(source: SourceId, id: string, etag: string | null = null) {
    return this.get<RunResource>(`runs/${encodeURIComponent(id)}`, { source }, etag);
  }

  history(
    source: SourceId,
    id: string,
    opts: { keys?: string[]; samples?: number; smoothing?: string; amount?: number },
    etag: string | null = null
  ) {
    return this.get<History>(
      `runs/${encodeURIComponent(id)}/history`,
      {
        source,
        keys: opts.keys ? opts.keys.join(',') : undefined,
        samples: opts.samples,
        smoothing: opts.smoothing,
        amount: opts.amount
      },
      etag
    );
  }

  compare(
    source: SourceId,
    ids: string[],
    opts: { keys?: string[]; samples?: number; smoothing?: string; amount?: number },
    etag: string | null = null
  ) {
    return this.get<Record<string, History>>(
      'compare',
      {
        source,
        ids: ids.join(','),
        keys: opts.keys ? opts.keys.join(',') : undefined,
        samples: opts.samples,
        smoothing: opts.smoothing,
        amount: opts.amount
      },
      etag
    );
  }

  system(source: SourceId, id: string, samples = 2000) {
    return this.get<SystemRecord[]>(`runs/${encodeURIComponent(id)}/system`, { source, samples });
  }

  files(source: SourceId, id: string) {
    return this.get<FileInfo[]>(`runs/${encodeURIComponent(id)}/files`, { source });
  }

  fileUrl(source: SourceId, id: string, path: string): string {
    const encoded = path.split('/').map(encodeURIComponent).join('/');
    return this.url(`runs/${encodeURIComponent(id)}/files/${encoded}`, { source });
  }

  async fileText(source: SourceId, id: string, path: string): Promise<string | null> {
    const response = await ServerConnection.makeRequest(this.fileUrl(source, id, path), { method: 'GET' }, this.settings);
    return response.ok ? response.text() : null;
  }

  status(path: string | null, kernel: string | null, etag: string | null = null) {
    return this.get<Status>('status', { path, kernel }, etag);
  }
}
