/**
 * The Runs sidebar: every run of the chosen source, filtered and sorted by the lab
 * server (the query layer), refreshed every 2 s while shown, only changed rows redrawn.
 */
import { Widget } from '@lumino/widgets';
import { Signal } from '@lumino/signaling';

import { ApiError, LIVE_STATES, RunResource, SourceId, SourceInfo, TrackerApi } from './api';
import { colorOf } from './colors';
import { formatAgo, formatValue, syncLabel } from './format';
import { Poller } from './poller';

export interface OpenRequest {
  id: string;
  source: SourceId;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

function option(select: HTMLSelectElement, value: string, label: string): void {
  const o = el('option');
  o.value = value;
  o.textContent = label;
  select.append(o);
}

/** The options of a select, keeping the chosen value (and offering it even when gone). */
function setOptions(select: HTMLSelectElement, first: string, values: string[]): void {
  const chosen = select.value;
  const wanted = [...new Set(chosen ? [...values, chosen] : values)].sort();
  const now = Array.from(select.options).map(o => o.value);
  if (now.length === wanted.length + 1 && wanted.every((v, i) => now[i + 1] === v)) return;
  select.textContent = '';
  option(select, '', first);
  for (const v of wanted) option(select, v, v);
  select.value = chosen;
}

export class RunsPanel extends Widget {
  readonly openRun = new Signal<this, OpenRequest>(this);
  readonly compare = new Signal<this, { ids: string[]; source: SourceId }>(this);
  readonly selectionChanged = new Signal<this, string[]>(this);

  source: SourceId = 'local';
  private runs: RunResource[] = [];
  /** rows by run (id and folder: two folders may hold runs of one id) */
  private rows = new Map<string, { row: HTMLTableRowElement; signature: string }>();
  private selected = new Set<string>();
  private etag: string | null = null;
  private metric = '';
  private poller: Poller;
  private sourceSelect = el('select', 'tracker-source');
  private filterBox = el('input', 'tracker-filter');
  private projectSelect = el('select', 'tracker-project');
  private groupSelect = el('select', 'tracker-group');
  private tagSelect = el('select', 'tracker-tag');
  private stateSelect = el('select', 'tracker-state-filter');
  private metricSelect = el('select', 'tracker-metric');
  private sortSelect = el('select', 'tracker-sort');
  private compareButton = el('button', 'jp-Button tracker-compare-button', 'Compare');
  private message = el('div', 'tracker-runs-message');
  private body = el('tbody');
  private metricHeader = el('th', 'tracker-col-metric', 'value');
  /** ms the last list took: request, and drawing the rows */
  timings = { request: 0, render: 0 };

  constructor(private api: TrackerApi) {
    super();
    this.id = 'tracker-runs';
    this.addClass('tracker-runs');
    this.title.caption = 'Runs (jupyter-tracker)';
    this.title.label = 'Runs';
    this.build();
    this.poller = new Poller(() => this.refresh(), () => this.isVisible);
    this.poller.start();
    void this.loadSources();
  }

  get selection(): string[] {
    return this.runs.filter(r => this.selected.has(r.id)).map(r => r.id);
  }

  /** The runs shown now (after the text filter). */
  get shown(): RunResource[] {
    const text = this.filterBox.value.trim().toLowerCase();
    if (!text) return this.runs;
    return this.runs.filter(r =>
      [r.name, r.id, r.project, r.group, r.job_type, ...(r.tags ?? [])].some(v => (v ?? '').toLowerCase().includes(text))
    );
  }

  private build(): void {
    const bar = el('div', 'tracker-runs-toolbar');
    this.filterBox.type = 'search';
    this.filterBox.placeholder = 'Filter by name, id, group, tag';
    this.filterBox.addEventListener('input', () => this.render());
    option(this.stateSelect, '', 'any state');
    for (const s of ['running', 'finished', 'failed', 'crashed', 'service-stopped']) option(this.stateSelect, s, s);
    option(this.projectSelect, '', 'all projects');
    option(this.groupSelect, '', 'all groups');
    option(this.tagSelect, '', 'all tags');
    option(this.metricSelect, '', 'metric…');
    this.metricSelect.title = 'The metric whose last value the table shows';
    this.sortSelect.title = 'Sort by';
    for (const [v, label] of [
      ['', 'newest first'],
      ['display_name', 'name'],
      ['-summary', 'metric, high first'],
      ['+summary', 'metric, low first']
    ]) {
      option(this.sortSelect, v, label);
    }
    for (const select of [this.sourceSelect, this.projectSelect, this.groupSelect, this.tagSelect, this.stateSelect, this.sortSelect]) {
      select.addEventListener('change', () => {
        if (select === this.sourceSelect) this.source = (this.sourceSelect.value || 'local') as SourceId;
        this.etag = null;
        void this.poller.now();
      });
    }
    this.metricSelect.addEventListener('change', () => {
      this.metric = this.metricSelect.value;
      if (this.sortSelect.value.endsWith('summary')) {
        this.etag = null;
        void this.poller.now();
      } else this.render(true);
    });
    this.compareButton.disabled = true;
    this.compareButton.title = 'Compare the selected runs';
    this.compareButton.addEventListener('click', () => this.compare.emit({ ids: this.selection, source: this.source }));
    const refresh = el('button', 'jp-Button tracker-refresh-button', '⟳');
    refresh.title = 'Refresh';
    refresh.addEventListener('click', () => {
      this.etag = null;
      void this.poller.now();
    });
    const row1 = el('div', 'tracker-runs-row');
    row1.append(this.sourceSelect, this.filterBox, refresh);
    const row2 = el('div', 'tracker-runs-row');
    row2.append(this.projectSelect, this.groupSelect, this.tagSelect, this.stateSelect);
    const row3 = el('div', 'tracker-runs-row');
    row3.append(this.metricSelect, this.sortSelect, this.compareButton);
    bar.append(row1, row2, row3);
    const table = el('table', 'tracker-runs-table');
    const head = el('thead');
    const tr = el('tr');
    const all = el('input');
    all.type = 'checkbox';
    all.title = 'Select all shown';
    all.addEventListener('change', () => {
      for (const r of this.shown) (all.checked ? this.selected.add(r.id) : this.selected.delete(r.id));
      this.render(true);
      this.selectionChanged.emit(this.selection);
    });
    const check = el('th', 'tracker-col-check');
    check.append(all);
    tr.append(check, el('th', 'tracker-col-run', 'run'), this.metricHeader);
    head.append(tr);
    table.append(head, this.body);
    const scroll = el('div', 'tracker-runs-scroll');
    scroll.append(table);
    this.node.append(bar, this.message, scroll);
  }

  private async loadSources(): Promise<void> {
    let sources: SourceInfo[] = [{ id: 'local', label: 'Local runs' }];
    try {
      sources = (await this.api.sources()).value;
    } catch {
      // keep the local source
    }
    this.sourceSelect.textContent = '';
    for (const s of sources) option(this.sourceSelect, s.id, s.id === 'server' && s.host ? `Server: ${s.host}` : s.label);
    this.sourceSelect.value = this.source;
    this.sourceSelect.title = sources.map(s => (s.dirs ? `${s.label}: ${s.dirs.join(', ') || 'none yet'}` : `${s.label}: ${s.host}`)).join('\n');
    this.sourceSelect.hidden = sources.length < 2;
    void this.poller.now();
  }

  private order(): string | undefined {
    const sort = this.sortSelect.value;
    if (!sort) return undefined;
    if (sort.endsWith('summary')) return this.metric ? `${sort[0]}summary_metrics.${this.metric}` : undefined;
    return sort;
  }

  /** Ask the lab server for the list (a 304-equivalent when nothing changed: same ETag). */
  async refresh(force = false): Promise<void> {
    if (force) this.etag = null;
    const filters: Record<string, unknown> = {};
    if (this.groupSelect.value) filters.group = this.groupSelect.value;
    if (this.tagSelect.value) filters.tags = this.tagSelect.value;
    const t0 = performance.now();
    let answer;
    try {
      answer = await this.api.runs(this.source, {
        project: this.projectSelect.value || undefined,
        state: this.stateSelect.value || undefined,
        filters: Object.keys(filters).length ? filters : undefined,
        order: this.order()
      }, this.etag);
    } catch (error) {
      this.message.textContent = error instanceof ApiError ? error.message : `cannot list runs: ${error}`;
      this.message.classList.add('tracker-error');
      return;
    }
    this.timings.request = performance.now() - t0;
    this.message.classList.remove('tracker-error');
    if (answer.unchanged || (answer.etag && answer.etag === this.etag)) return;
    this.etag = answer.etag;
    this.runs = answer.value;
    this.message.textContent = answer.notes.join('; ');
    const t1 = performance.now();
    this.updateOptions();
    this.render();
    this.timings.render = performance.now() - t1;
    this.node.dataset.count = String(this.runs.length);
  }

  private updateOptions(): void {
    const values = (f: (r: RunResource) => (string | null | undefined)[]) =>
      [...new Set(this.runs.flatMap(f).filter((v): v is string => !!v))];
    setOptions(this.projectSelect, 'all projects', values(r => [r.project]));
    setOptions(this.groupSelect, 'all groups', values(r => [r.group]));
    setOptions(this.tagSelect, 'all tags', values(r => r.tags ?? []));
    const metrics = values(r => Object.keys(r.summary ?? {}).filter(k => typeof r.summary[k] === 'number' && !k.startsWith('_')));
    setOptions(this.metricSelect, 'metric…', metrics);
    if (!this.metric && metrics.length) {
      this.metric = metrics.find(m => /loss/.test(m)) ?? metrics[0];
      this.metricSelect.value = this.metric;
    }
    this.metricHeader.textContent = this.metric || 'value';
  }

  private signature(r: RunResource): string {
    return [r.rev ?? '', r.state, r.last_step, r.name, r.project, r.group, this.metric, JSON.stringify(r.summary?.[this.metric] ?? null), r.sync?.status ?? '', this.selected.has(r.id)].join('\u0001');
  }

  /** Draw the rows: new ones made, changed ones redrawn, the rest only moved into order. */
  render(all = false): void {
    const shown = this.shown;
    const key = (r: RunResource) => `${r.id}\u0001${r.dir ?? ''}`;
    const keep = new Set(shown.map(key));
    for (const [id, entry] of this.rows) {
      if (!keep.has(id)) {
        entry.row.remove();
        this.rows.delete(id);
      }
    }
    let previous: HTMLTableRowElement | null = null;
    for (const run of shown) {
      const signature = this.signature(run);
      let entry = this.rows.get(key(run));
      if (!entry || all || entry.signature !== signature) {
        const row = this.row(run);
        if (entry) entry.row.replaceWith(row);
        entry = { row, signature };
        this.rows.set(key(run), entry);
      }
      const wanted: ChildNode | null = previous ? previous.nextSibling : this.body.firstChild;
      if (wanted !== entry.row) this.body.insertBefore(entry.row, wanted);
      previous = entry.row;
    }
    if (!shown.length && !this.message.textContent) {
      this.message.textContent = this.runs.length ? 'no run matches the filter' : 'no runs yet: %tracker init in a notebook starts one';
    }
    this.compareButton.disabled = this.selection.length < 1;
    this.compareButton.textContent = this.selection.length ? `Compare (${this.selection.length})` : 'Compare';
  }

  private row(run: RunResource): HTMLTableRowElement {
    const tr = el('tr', 'tracker-run-row');
    tr.dataset.id = run.id;
    tr.dataset.state = run.state;
    const check = el('input');
    check.type = 'checkbox';
    check.checked = this.selected.has(run.id);
    check.addEventListener('change', () => {
      if (check.checked) this.selected.add(run.id);
      else this.selected.delete(run.id);
      this.render();
      this.selectionChanged.emit(this.selection);
    });
    const c0 = el('td', 'tracker-col-check');
    c0.append(check);
    const main = el('td', 'tracker-col-run');
    const line1 = el('div', 'tracker-run-line1 tracker-col-name');
    const swatch = el('span', 'tracker-swatch');
    swatch.style.background = colorOf(run.id);
    const link = el('a', 'tracker-run-link', run.name || run.id);
    link.href = '#';
    link.title = `${run.name ?? ''} (${run.id})${run.notes ? `\n${run.notes}` : ''}\ncreated ${formatAgo(run.created_at)}`;
    link.addEventListener('click', event => {
      event.preventDefault();
      this.openRun.emit({ id: run.id, source: this.source });
    });
    line1.append(swatch, link);
    const line2 = el('div', 'tracker-run-line2');
    const state = el('span', 'tracker-col-state');
    const dot = el('span', `tracker-state-dot tracker-state-${run.state}`);
    if (LIVE_STATES.includes(run.state)) dot.classList.add('tracker-live');
    state.append(dot, document.createTextNode(run.state));
    const parts: HTMLElement[] = [state];
    if (run.last_step !== null && run.last_step !== undefined) {
      const step = el('span', 'tracker-step');
      step.append(document.createTextNode('step '), el('span', 'tracker-col-step', String(run.last_step)));
      parts.push(step);
    }
    if (run.project) parts.push(el('span', 'tracker-col-project', run.project));
    if (run.group) parts.push(el('span', 'tracker-col-group', run.group));
    const syncText = syncLabel(run.sync);
    if (syncText) {
      const sync = el('span', 'tracker-col-sync', syncText);
      if (run.sync?.message) sync.title = run.sync.message;
      parts.push(sync);
    }
    parts.forEach((part, i) => {
      if (i) line2.append(document.createTextNode(' · '));
      line2.append(part);
    });
    main.append(line1, line2);
    const value = run.summary?.[this.metric];
    tr.append(c0, main, el('td', 'tracker-col-metric', typeof value === 'number' ? formatValue(value) : ''));
    if (this.selected.has(run.id)) tr.classList.add('tracker-selected');
    return tr;
  }

  /** Show one run: clear what hides it, scroll to it and mark it. */
  async reveal(id: string, source: SourceId = 'local'): Promise<void> {
    if (this.source !== source) {
      this.source = source;
      this.sourceSelect.value = source;
    }
    const find = () => [...this.rows.entries()].find(([k]) => k.startsWith(`${id}\u0001`))?.[1];
    let entry = find();
    if (!entry) {
      this.filterBox.value = '';
      for (const s of [this.projectSelect, this.groupSelect, this.tagSelect, this.stateSelect]) s.value = '';
      await this.refresh(true);
      entry = find();
    }
    if (!entry) return;
    for (const other of this.body.querySelectorAll('.tracker-revealed')) other.classList.remove('tracker-revealed');
    entry.row.classList.add('tracker-revealed');
    entry.row.scrollIntoView({ block: 'nearest' });
  }

  setSelection(ids: string[]): void {
    this.selected = new Set(ids);
    this.render(true);
    this.selectionChanged.emit(this.selection);
  }

  dispose(): void {
    this.poller.dispose();
    super.dispose();
  }
}
