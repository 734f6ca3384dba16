/**
 * Several runs overlaid per metric, as `tracker.compare()` shows them in a notebook:
 * one line per run in the run's colour, or one mean line per group with its min/max
 * band; a table of the runs with the config keys that differ. Fed by one request
 * (`compare`) through the query layer; live runs refresh every 2 s.
 */
import { Widget } from '@lumino/widgets';

import { History, LIVE_STATES, RunResource, SourceId, TrackerApi } from './api';
import { Chart, ChartLine, ChartBand } from './chart';
import { colorsFor } from './colors';
import { ChartControls, ChartSettings } from './controls';
import { formatConfig, formatValue } from './format';
import { Poller } from './poller';
import { Line, chartedMetrics, differingKeys, firstTimestamp, flattenConfig, groupBand, groupByConfig, lastValue, monotonicMetrics, toLine } from './series';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

export class CompareView extends Widget {
  private runs: RunResource[] = [];
  private data: Record<string, History> = {};
  private etag: string | null = null;
  private controls = new ChartControls();
  private groupSelect = el('select', 'tracker-group-by');
  private diffOnly = el('input', 'tracker-diff-only');
  private message = el('div', 'tracker-compare-message');
  private grid = el('div', 'tracker-chart-grid');
  private tableBox = el('div', 'tracker-compare-table-box');
  private charts = new Map<string, Chart>();
  private poller: Poller;
  /** ms of the last load: the data request, and drawing every chart */
  timings = { data: 0, draw: 0 };

  constructor(
    private api: TrackerApi,
    readonly source: SourceId,
    readonly ids: string[]
  ) {
    super();
    this.addClass('tracker-compare-view');
    this.id = `tracker-compare-${source}-${ids.join('-').slice(0, 200)}`;
    this.title.label = `Compare ${ids.length} runs`;
    this.title.closable = true;
    const groupLabel = el('label', '', 'group by ');
    groupLabel.append(this.groupSelect);
    this.diffOnly.type = 'checkbox';
    this.diffOnly.checked = true;
    const diffLabel = el('label', '');
    diffLabel.append(this.diffOnly, document.createTextNode(' differing config only'));
    this.controls.node.append(groupLabel, diffLabel);
    this.groupSelect.addEventListener('change', () => this.draw(this.controls.settings));
    this.diffOnly.addEventListener('change', () => this.drawTable());
    this.controls.changed.connect((_s, settings) => {
      this.etag = null;
      void this.load(settings);
    });
    this.node.append(this.controls.node, this.message, this.grid, this.tableBox);
    this.poller = new Poller(() => this.load(), () => this.isVisible && this.runs.some(r => LIVE_STATES.includes(r.state)));
    void this.load().then(() => this.poller.start());
  }

  async load(settings: ChartSettings = this.controls.settings): Promise<void> {
    const t0 = performance.now();
    try {
      const smoothing = settings.smoothing === 'none' ? undefined : settings.smoothing;
      const [runs, data] = await Promise.all([
        this.api.runs(this.source, { filters: { id: { $in: this.ids } } }),
        this.api.compare(this.source, this.ids, { samples: 2000, smoothing, amount: settings.amount }, this.etag)
      ]);
      this.runs = runs.value;
      if (data.unchanged) return;
      this.data = data.value;
      this.etag = data.etag;
      this.message.textContent = '';
    } catch (error) {
      this.message.textContent = `cannot compare: ${error instanceof Error ? error.message : error}`;
      return;
    }
    this.timings.data = performance.now() - t0;
    this.draw(settings);
  }

  private groupOptions(): void {
    const keys = ['group', 'job_type', ...differingKeys(this.runs.map(r => r.config ?? {})).map(k => `config.${k}`)];
    const chosen = this.groupSelect.value;
    const now = Array.from(this.groupSelect.options).map(o => o.value);
    const wanted = ['', ...keys];
    if (now.join('\u0001') !== wanted.join('\u0001')) {
      this.groupSelect.textContent = '';
      for (const key of wanted) {
        const o = el('option', '', key ? key.replace(/^config\./, '') : 'none (one line per run)');
        o.value = key;
        this.groupSelect.append(o);
      }
      this.groupSelect.value = wanted.includes(chosen) ? chosen : '';
    }
  }

  private draw(settings: ChartSettings): void {
    const t0 = performance.now();
    this.groupOptions();
    const runs = this.runs.filter(r => this.data[r.id]);
    const colors = colorsFor(runs.map(r => r.id));
    const keys = new Set<string>();
    for (const run of runs) for (const k of Object.keys(this.data[run.id])) keys.add(k);
    const definitions = runs.flatMap(r => r.metrics ?? []);
    const metrics = chartedMetrics([...keys], definitions);
    const monotonic = new Set<string>();
    for (const run of runs) for (const m of monotonicMetrics(this.data[run.id])) monotonic.add(m);
    this.controls.setXOptions([...monotonic].sort());
    this.controls.showFilter(metrics.length);
    const shown = metrics.filter(m => !settings.filter || m.toLowerCase().includes(settings.filter));
    for (const [name, chart] of this.charts) {
      if (!shown.includes(name)) {
        chart.dispose();
        this.charts.delete(name);
      }
    }
    const groupKey = this.groupSelect.value;
    const groups = groupKey ? this.groups(runs, groupKey) : null;
    const groupColors = groups ? colorsFor([...groups.keys()]) : {};
    for (const metric of shown) {
      let chart = this.charts.get(metric);
      if (!chart) {
        chart = new Chart('tracker-compare-chart');
        chart.node.dataset.metric = metric;
        this.charts.set(metric, chart);
      }
      this.grid.append(chart.node);
      const lineOf = (run: RunResource): Line | null => {
        const history = this.data[run.id];
        const column = history?.[metric];
        if (!column || !column.value.length) return null;
        const x = settings.x;
        const xMetric = typeof x === 'object' ? history[x.metric] ?? null : null;
        return toLine(column, x, firstTimestamp(history), xMetric);
      };
      const lines: ChartLine[] = [];
      const bands: ChartBand[] = [];
      if (groups) {
        for (const [label, members] of groups) {
          const found = members.map(lineOf).filter((l): l is Line => l !== null);
          if (!found.length) continue;
          const band = groupBand(found, true);
          bands.push({ label: `${label} (${found.length} run${found.length > 1 ? 's' : ''})`, color: groupColors[label], x: band.x, mean: band.mean, lo: band.lo, hi: band.hi });
        }
      } else {
        for (const run of runs) {
          const line = lineOf(run);
          if (line) lines.push({ label: run.name || run.id, color: colors[run.id], ...line });
        }
      }
      const best = runs.map(r => lastValue(this.data[r.id]?.[metric])).filter((v): v is number => v !== null);
      chart.update({
        title: metric,
        subtitle: best.length ? `last ${formatValue(Math.min(...best))} to ${formatValue(Math.max(...best))}` : '',
        x: settings.x,
        logY: settings.logY,
        lines,
        bands
      });
    }
    if (!shown.length) this.grid.textContent = metrics.length ? 'no metric matches the filter' : 'the runs have no metrics yet';
    this.drawTable();
    this.timings.draw = performance.now() - t0;
    this.node.dataset.drawn = String(Date.now());
    this.node.dataset.drawMs = String(Math.round(this.timings.draw));
    this.node.dataset.dataMs = String(Math.round(this.timings.data));
  }

  private groups(runs: RunResource[], key: string): Map<string, RunResource[]> {
    if (key === 'group' || key === 'job_type') {
      const out = new Map<string, RunResource[]>();
      for (const run of runs) {
        const label = (run[key] as string | null) ?? '(none)';
        if (!out.has(label)) out.set(label, []);
        out.get(label)!.push(run);
      }
      return out;
    }
    return groupByConfig(runs, key.replace(/^config\./, ''));
  }

  private drawTable(): void {
    const runs = this.runs;
    const colors = colorsFor(runs.map(r => r.id));
    const configs = runs.map(r => flattenConfig(r.config ?? {}));
    const keys = this.diffOnly.checked ? differingKeys(runs.map(r => r.config ?? {})) : [...new Set(configs.flatMap(c => Object.keys(c)))].sort();
    const summaryKeys = [...new Set(runs.flatMap(r => Object.keys(r.summary ?? {}).filter(k => !k.startsWith('_'))))].sort();
    const t = el('table', 'tracker-compare-table');
    const head = el('tr');
    for (const label of ['run', 'state', 'group', ...keys, ...summaryKeys]) head.append(el('th', '', label));
    t.append(head);
    runs.forEach((run, i) => {
      const tr = el('tr');
      tr.dataset.id = run.id;
      const name = el('td', 'tracker-col-name');
      const swatch = el('span', 'tracker-swatch');
      swatch.style.background = colors[run.id];
      name.append(swatch, document.createTextNode(run.name || run.id));
      tr.append(name, el('td', '', run.state), el('td', '', run.group ?? ''));
      for (const k of keys) tr.append(el('td', 'tracker-config-cell', formatConfig(configs[i][k])));
      for (const k of summaryKeys) tr.append(el('td', 'tracker-summary-cell', formatValue(run.summary?.[k])));
      t.append(tr);
    });
    this.tableBox.textContent = '';
    this.tableBox.append(t);
  }

  redraw(): void {
    for (const chart of this.charts.values()) chart.redraw();
  }

  dispose(): void {
    this.poller.dispose();
    for (const chart of this.charts.values()) chart.dispose();
    super.dispose();
  }
}
