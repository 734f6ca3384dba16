/**
 * The status-bar item: the current notebook's run (name, state, step) and how many
 * runs are live; a click reveals the run in the Runs sidebar.
 */
import { INotebookTracker } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';
import { Signal } from '@lumino/signaling';

import { LIVE_STATES, RunResource, TrackerApi } from './api';
import { colorOf } from './colors';
import { Poller } from './poller';

export class TrackerStatus extends Widget {
  readonly reveal = new Signal<this, RunResource | null>(this);
  private run: RunResource | null = null;
  private etag: string | null = null;
  private key = '';
  private poller: Poller;

  constructor(
    private api: TrackerApi,
    private notebooks: INotebookTracker
  ) {
    super();
    this.addClass('tracker-statusbar');
    this.node.title = 'jupyter-tracker: the run of this notebook; click to show it in the Runs sidebar';
    this.node.addEventListener('click', () => this.reveal.emit(this.run));
    this.notebooks.currentChanged.connect(() => void this.poller.now());
    this.poller = new Poller(() => this.refresh(), () => !document.hidden);
    this.poller.start();
    void this.poller.now();
  }

  private async refresh(): Promise<void> {
    const panel = this.notebooks.currentWidget;
    const path = panel?.context.path ?? null;
    const kernel = panel?.sessionContext.session?.kernel?.id ?? null;
    const key = `${path}\u0001${kernel}`;
    const answer = await this.api.status(path, kernel, key === this.key ? this.etag : null);
    this.key = key;
    if (answer.unchanged) return;
    this.etag = answer.etag;
    const { run, live } = answer.value;
    this.run = run;
    this.node.textContent = '';
    if (run) {
      const swatch = document.createElement('span');
      swatch.className = 'tracker-swatch';
      swatch.style.background = colorOf(run.id);
      const dot = document.createElement('span');
      dot.className = `tracker-state-dot tracker-state-${run.state}${LIVE_STATES.includes(run.state) ? ' tracker-live' : ''}`;
      const text = document.createElement('span');
      text.className = 'tracker-statusbar-run';
      const step = run.last_step === null || run.last_step === undefined ? '' : ` · step ${run.last_step}`;
      text.textContent = `${run.name || run.id} · ${run.state}${step}`;
      this.node.append(swatch, dot, text);
    }
    const count = document.createElement('span');
    count.className = 'tracker-statusbar-live';
    count.textContent = run ? ` · ${live} live` : `tracker: ${live} live run${live === 1 ? '' : 's'}`;
    this.node.append(count);
    this.node.dataset.runId = run?.id ?? '';
  }

  dispose(): void {
    this.poller.dispose();
    super.dispose();
  }
}
