/**
 * jupyter-tracker's JupyterLab extension: the Runs sidebar, run and compare views,
 * a status-bar item and the `tracker:*` commands, over the lab server's /tracker/api/.
 */
import { ILabShell, ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, IThemeManager, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';

import { SourceId, TrackerApi } from './api';
import { CommandIDs, compareCode } from './commands';
import { CompareView } from './compareview';
import { RunView } from './runview';
import { RunsPanel } from './sidebar';
import { TrackerStatus } from './statusbar';

type View = RunView | CompareView;

/** The sidebar tab's icon: three runs' lines. */
const runsIcon = new LabIcon({
  name: 'jupyter-tracker:runs',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24"><g fill="none" stroke-width="2" stroke-linecap="round">' +
    '<path class="jp-icon3" stroke="#616161" d="M3 19 L9 12 L13 15 L21 5"/>' +
    '<path class="jp-icon3" stroke="#616161" d="M3 3 L3 21 L21 21"/></g></svg>'
});

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-tracker:plugin',
  description: 'Runs sidebar, run and compare views and a status-bar item for jupyter-tracker',
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer, INotebookTracker, IStatusBar, IThemeManager, ILabShell],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    notebooks: INotebookTracker | null,
    statusBar: IStatusBar | null,
    themes: IThemeManager | null
  ) => {
    const api = new TrackerApi();
    const sidebar = new RunsPanel(api);
    sidebar.title.icon = runsIcon;
    app.shell.add(sidebar, 'left', { rank: 600 });
    if (restorer) restorer.add(sidebar, 'tracker-runs');
    const views = new WidgetTracker<MainAreaWidget<View>>({ namespace: 'tracker-views' });

    const show = (view: View): void => {
      const existing = views.find(w => w.content.id === view.id);
      if (existing) {
        view.dispose();
        app.shell.activateById(existing.id);
        return;
      }
      const widget = new MainAreaWidget({ content: view });
      widget.id = `${view.id}-area`;
      widget.title.label = view.title.label;
      widget.title.closable = true;
      view.title.changed.connect(() => (widget.title.label = view.title.label));
      void views.add(widget);
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
    };

    const sourceOf = (args: any): SourceId => (args.source === 'server' ? 'server' : sidebar.source);

    app.commands.addCommand(CommandIDs.openRuns, {
      label: 'Tracker: Show the Runs Sidebar',
      execute: () => app.shell.activateById(sidebar.id)
    });
    app.commands.addCommand(CommandIDs.openRun, {
      label: args => (args.id ? `Tracker: Open Run ${args.id}` : 'Tracker: Open Run'),
      execute: args => {
        const id = String(args.id ?? '');
        if (!id) throw new Error('tracker:open-run needs {id}');
        show(new RunView(api, sourceOf(args), id));
      }
    });
    app.commands.addCommand(CommandIDs.compare, {
      label: 'Tracker: Compare the Selected Runs',
      isEnabled: args => Array.isArray(args.ids) || sidebar.selection.length > 0,
      execute: args => {
        const ids = Array.isArray(args.ids) ? (args.ids as string[]).map(String) : sidebar.selection;
        if (!ids.length) throw new Error('tracker:compare needs {ids} or runs selected in the sidebar');
        show(new CompareView(api, sourceOf(args), ids));
      }
    });
    app.commands.addCommand(CommandIDs.insertCompareCell, {
      label: 'Tracker: Insert a Compare Cell for the Selected Runs',
      isEnabled: () => !!notebooks?.currentWidget && (sidebar.selection.length > 0),
      execute: async args => {
        const panel = notebooks?.currentWidget;
        if (!panel) throw new Error('tracker:insert-compare-cell needs an active notebook');
        const ids = Array.isArray(args.ids) ? (args.ids as string[]).map(String) : sidebar.selection;
        let host: string | null = null;
        if (sourceOf(args) === 'server') {
          const sources = (await api.sources()).value;
          host = sources.find(s => s.id === 'server')?.host ?? null;
        }
        NotebookActions.insertBelow(panel.content);
        const cell = panel.content.activeCell;
        if (cell) cell.model.sharedModel.setSource(compareCode(ids, host));
      }
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Tracker: Refresh Runs',
      execute: async () => {
        await sidebar.refresh(true);
        await Promise.all(views.filter(() => true).map(w => w.content.load()));
      }
    });
    sidebar.openRun.connect((_s, { id, source }) => void app.commands.execute(CommandIDs.openRun, { id, source }));
    sidebar.compare.connect((_s, { ids, source }) => void app.commands.execute(CommandIDs.compare, { ids, source }));
    sidebar.selectionChanged.connect(() => app.commands.notifyCommandChanged());
    if (palette) {
      for (const command of Object.values(CommandIDs)) palette.addItem({ command, category: 'Tracker' });
    }
    if (statusBar && notebooks) {
      const item = new TrackerStatus(api, notebooks);
      item.reveal.connect((_s, run) => {
        void app.commands.execute(CommandIDs.openRuns);
        if (run) void sidebar.reveal(run.id, 'local');
      });
      statusBar.registerStatusItem('jupyter-tracker:status', { item, align: 'left', rank: 50 });
    }
    if (themes) {
      themes.themeChanged.connect(() => {
        // the theme's CSS is in place on the next frame: charts read their colours then
        requestAnimationFrame(() => views.forEach(w => w.content.redraw()));
      });
    }
    // for browser tests and the benchmark: the sidebar and the open views
    (window as any).jupyterTracker = { sidebar, views };
  }
};

export default plugin;
