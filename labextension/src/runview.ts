/**
 * One run in the main area: a chart per metric (the panel's smoothing, ticks and
 * colours), system charts, summary, config, files, captured code and the read report.
 * A live run refreshes every 2 s, and only what changed is redrawn.
 */
import { Widget } from '@lumino/widgets';

import { History, LIVE_STATES, RunResource, SourceId, SystemRecord, TrackerApi } from './api';
import { Chart } from './chart';
import { colorOf } from './colors';
import { ChartControls, ChartSettings } from './controls';
import { formatBytes, formatConfig, formatDate, formatDuration, formatValue, syncLabel } from './format';
import { Poller } from './poller';
import { chartedMetrics, firstTimestamp, flattenConfig, lastValue, monotonicMetrics, stepMetricOf, systemColumns, systemUnit, toLine } from './series';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

function table(rows: [string, string][], className: string): HTMLTableElement {
  const t = el('table', `tracker-kv ${className}`);
  for (const [k, v] of rows) {
    const tr = el('tr');
    tr.append(el('th', '', k), el('td', '', v));
    t.append(tr);
  }
  return t;
}

function section(title: string, className: string, open = true): [HTMLDetailsElement, HTMLDivElement] {
  const details = el('details', `tracker-section ${className}`);
  details.open = open;
  details.append(el('summary', '', title));
  const body = el('div', 'tracker-section-body');
  details.append(body);
  return [details, body];
}

export class RunView extends Widget {
  private run: RunResource | null = null;
  private history: History = {};
  private system: SystemRecord[] = [];
  private etags = { run: null as string | null, history: null as string | null };
  private controls = new ChartControls();
  private header = el('div', 'tracker-run-header');
  private error = el('div', 'tracker-run-error');
  private metrics = el('div', 'tracker-metric-sections');
  private systemGrid = el('div', 'tracker-chart-grid');
  private details = el('div', 'tracker-run-details');
  private charts = new Map<string, Chart>();
  private systemCharts = new Map<string, Chart>();
  private poller: Poller;
  private detailsRev = '';
  /** ms of the last load: data (request) and drawing */
  timings = { data: 0, draw: 0 };

  constructor(
    private api: TrackerApi,
    readonly source: SourceId,
    readonly runId: string
  ) {
    super();
    this.addClass('tracker-run-view');
    this.id = `tracker-run-${source}-${runId}`;
    this.title.label = runId;
    this.title.closable = true;
    this.node.tabIndex = 0;
    const [systemSection, systemBody] = section('System', 'tracker-system-section');
    systemBody.append(this.systemGrid);
    this.node.append(this.header, this.error, this.controls.node, this.metrics, systemSection, this.details);
    this.controls.changed.connect((_s, settings) => this.onSettings(settings));
    this.poller = new Poller(() => this.load(), () => this.isVisible && this.live);
    void this.load(true).then(() => this.poller.start());
  }

  get live(): boolean {
    return !this.run || LIVE_STATES.includes(this.run.state);
  }

  private onSettings(settings: ChartSettings): void {
    this.etags.history = null;
    void this.load(true, settings);
  }

  /** Read the run and its history (each skipped when its ETag says nothing changed) and draw. */
  async load(force = false, settings: ChartSettings = this.controls.settings): Promise<void> {
    const t0 = performance.now();
    try {
      const runAnswer = await this.api.run(this.source, this.runId, force ? null : this.etags.run);
      const changed = !runAnswer.unchanged;
      if (changed) {
        this.run = runAnswer.value;
        this.etags.run = runAnswer.etag;
      }
      if (!changed && !force) return;
      const smoothing = settings.smoothing === 'none' ? undefined : settings.smoothing;
      const [history, system] = await Promise.all([
        this.api.history(this.source, this.runId, { samples: 2000, smoothing, amount: settings.amount }, force ? null : this.etags.history),
        this.api.system(this.source, this.runId)
      ]);
      if (!history.unchanged) {
        this.history = history.value;
        this.etags.history = history.etag;
      }
      this.system = system.value;
      this.error.textContent = '';
    } catch (error) {
      this.error.textContent = `cannot read run ${this.runId}: ${error instanceof Error ? error.message : error}`;
      return;
    }
    this.timings.data = performance.now() - t0;
    const t1 = performance.now();
    this.draw(settings);
    this.timings.draw = performance.now() - t1;
    this.node.dataset.drawn = String(Date.now());
  }

  private draw(settings: ChartSettings): void {
    const run = this.run;
    if (!run) return;
    this.title.label = run.name || run.id;
    this.drawHeader(run);
    const definitions = run.metrics ?? [];
    const names = chartedMetrics(Object.keys(this.history), definitions);
    this.controls.setXOptions(monotonicMetrics(this.history));
    this.controls.showFilter(names.length);
    const shown = names.filter(n => !settings.filter || n.toLowerCase().includes(settings.filter));
    const start = firstTimestamp(this.history);
    // sections per prefix (train/, val/ ...), collapsible
    const sections = new Map<string, string[]>();
    for (const name of shown) {
      const prefix = name.includes('/') ? name.slice(0, name.indexOf('/')) : '';
      if (!sections.has(prefix)) sections.set(prefix, []);
      sections.get(prefix)!.push(name);
    }
    const wantedIds = new Set(shown);
    for (const [name, chart] of this.charts) {
      if (!wantedIds.has(name)) {
        chart.dispose();
        this.charts.delete(name);
      }
    }
    const open = new Map(Array.from(this.metrics.querySelectorAll('details')).map(d => [d.dataset.prefix ?? '', d.open]));
    this.metrics.textContent = '';
    for (const [prefix, members] of sections) {
      const [details, body] = section(prefix ? `${prefix}/` : 'metrics', 'tracker-metric-section', open.get(prefix) ?? true);
      details.dataset.prefix = prefix;
      const grid = el('div', 'tracker-chart-grid');
      body.append(grid);
      for (const name of members) {
        let chart = this.charts.get(name);
        if (!chart) {
          chart = new Chart();
          chart.node.dataset.metric = name;
          this.charts.set(name, chart);
        }
        grid.append(chart.node);
        const column = this.history[name];
        const stepMetric = stepMetricOf(name, definitions);
        const x = settings.x === 'step' && stepMetric && this.history[stepMetric] ? { metric: stepMetric } : settings.x;
        const xMetric = typeof x === 'object' ? this.history[x.metric] ?? null : null;
        const line = toLine(column, x, start, xMetric);
        const last = lastValue(column);
        chart.update({
          title: name,
          subtitle: last === null ? '' : `last ${formatValue(last)}`,
          x,
          logY: settings.logY,
          lines: [{ label: name, color: colorOf(name), ...line }]
        });
      }
      this.metrics.append(details);
    }
    if (!shown.length) this.metrics.append(el('div', 'tracker-empty', names.length ? 'no metric matches the filter' : 'no metrics logged yet'));
    this.drawSystem();
    const rev = `${run.rev ?? run.updated_at}:${run.state}:${run.last_step}`;
    if (rev !== this.detailsRev) {
      this.detailsRev = rev;
      void this.drawDetails(run);
    }
  }

  private drawHeader(run: RunResource): void {
    this.header.textContent = '';
    const swatch = el('span', 'tracker-swatch');
    swatch.style.background = colorOf(run.id);
    const name = el('span', 'tracker-run-name', run.name || run.id);
    const dot = el('span', `tracker-state-dot tracker-state-${run.state}`);
    if (LIVE_STATES.includes(run.state)) dot.classList.add('tracker-live');
    const state = el('span', 'tracker-run-state');
    state.append(dot, document.createTextNode(run.state));
    const info = run.info ?? {};
    const end = (info.finished_at as number) ?? run.heartbeat_at ?? run.updated_at;
    const facts = [
      run.project ? `project ${run.project}` : '',
      run.group ? `group ${run.group}` : '',
      run.job_type ? `job ${run.job_type}` : '',
      (run.tags ?? []).length ? `tags ${run.tags.join(', ')}` : '',
      `id ${run.id}`,
      run.last_step !== null && run.last_step !== undefined ? `step ${run.last_step}` : '',
      run.created_at ? `started ${formatDate(run.created_at)}` : '',
      run.created_at && end ? `ran ${formatDuration(end - run.created_at)}` : '',
      syncLabel(run.sync) ? `sync: ${syncLabel(run.sync)}` : ''
    ].filter(Boolean);
    const line = el('div', 'tracker-run-facts', facts.join(' · '));
    const top = el('div', 'tracker-run-title');
    top.append(swatch, name, state);
    this.header.append(top, line);
    if (run.sync?.message) this.header.append(el('div', 'tracker-run-message', run.sync.message));
    if (run.notes) this.header.append(el('div', 'tracker-run-notes', run.notes));
  }

  private drawSystem(): void {
    const columns = systemColumns(this.system);
    const keys = Object.keys(columns).filter(k => !k.startsWith('_') && columns[k].v.length > 0);
    for (const [key, chart] of this.systemCharts) {
      if (!keys.includes(key)) {
        chart.dispose();
        this.systemCharts.delete(key);
      }
    }
    if (!keys.length) {
      this.systemGrid.textContent = 'no system metrics recorded';
      return;
    }
    if (!this.systemGrid.querySelector('.tracker-chart')) this.systemGrid.textContent = '';
    const start = this.run?.created_at ?? columns[keys[0]].t[0];
    for (const key of keys) {
      let chart = this.systemCharts.get(key);
      if (!chart) {
        chart = new Chart('tracker-system-chart');
        chart.node.dataset.metric = key;
        this.systemCharts.set(key, chart);
        this.systemGrid.append(chart.node);
      }
      const { t, v } = columns[key];
      chart.update({
        title: key,
        unit: systemUnit(key),
        subtitle: `last ${formatValue(v[v.length - 1])}`,
        x: 'relative',
        lines: [{ label: key, color: colorOf(key), x: Float64Array.from(t, s => s - start), y: v }]
      });
    }
  }

  private async drawDetails(run: RunResource): Promise<void> {
    const summaryRows = Object.entries(run.summary ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, formatValue(v)] as [string, string]);
    const configRows = Object.entries(flattenConfig(run.config ?? {}))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, formatConfig(v)] as [string, string]);
    const [summary, summaryBody] = section('Summary', 'tracker-summary-section');
    summaryBody.append(summaryRows.length ? table(summaryRows, 'tracker-summary') : el('div', 'tracker-empty', 'no summary'));
    const [config, configBody] = section('Config', 'tracker-config-section');
    configBody.append(configRows.length ? table(configRows, 'tracker-config') : el('div', 'tracker-empty', 'no config'));
    const [files, filesBody] = section('Files', 'tracker-files-section', false);
    const [code, codeBody] = section('Code', 'tracker-code-section', false);
    const [log, logBody] = section('Log', 'tracker-log-section', false);
    const info = run.info ?? {};
    const git = (info.git ?? {}) as Record<string, unknown>;
    const codeRows: [string, string][] = [];
    if (info.notebook) codeRows.push(['notebook', String(info.notebook)]);
    if (info.program) codeRows.push(['program', String(info.program)]);
    if (git.sha) codeRows.push(['git sha', String(git.sha) + (git.dirty ? ' (with local changes: diff.patch)' : '')]);
    if (git.remote) codeRows.push(['git remote', String(git.remote)]);
    for (const key of ['host', 'python', 'platform', 'tracker_version', 'cwd']) if (info[key]) codeRows.push([key, String(info[key])]);
    codeBody.append(table(codeRows, 'tracker-code-info'));
    const report = run.read_report;
    const logRows: [string, string][] = report
      ? [
          ['records read', String(report.records)],
          ['corrupt lines skipped', String(report.corrupt)],
          ['records missing', String(report.missing)],
          ['torn last line', report.torn_tail ? 'yes' : 'no']
        ]
      : [];
    for (const [logName, count] of Object.entries(run.missing_records ?? {})) if (count) logRows.push([`missing in ${logName} log (declared)`, String(count)]);
    logBody.append(logRows.length ? table(logRows, 'tracker-read-report') : el('div', 'tracker-empty', 'no read report'));
    if (report?.problems?.length) logBody.append(el('pre', 'tracker-problems', report.problems.join('\n')));
    this.details.textContent = '';
    this.details.append(summary, config, files, code, log);
    try {
      const list = (await this.api.files(this.source, run.id)).value;
      const ul = el('ul', 'tracker-files');
      for (const f of list) {
        const li = el('li');
        const a = el('a', '', f.path);
        a.href = this.api.fileUrl(this.source, run.id, f.path);
        a.download = f.path.split('/').pop() ?? f.path;
        li.append(a, document.createTextNode(` ${formatBytes(f.size)}`));
        ul.append(li);
      }
      filesBody.append(list.length ? ul : el('div', 'tracker-empty', 'no files'));
      for (const name of ['code/cells.py', 'code/diff.patch']) {
        if (!list.some(f => f.path === name)) continue;
        const text = await this.api.fileText(this.source, run.id, name);
        if (text !== null) {
          codeBody.append(el('div', 'tracker-code-name', name), el('pre', 'tracker-code', text.length > 200000 ? `${text.slice(0, 200000)}\n…` : text));
        }
      }
    } catch (error) {
      filesBody.append(el('div', 'tracker-run-error', `cannot list files: ${error}`));
    }
  }

  /** Redraw the charts (the theme changed). */
  redraw(): void {
    for (const chart of [...this.charts.values(), ...this.systemCharts.values()]) chart.redraw();
  }

  dispose(): void {
    this.poller.dispose();
    for (const chart of [...this.charts.values(), ...this.systemCharts.values()]) chart.dispose();
    super.dispose();
  }
}
