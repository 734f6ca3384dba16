/** The extension's commands, with their ids, in one place. */

export namespace CommandIDs {
  export const openRuns = 'tracker:open-runs';
  export const openRun = 'tracker:open-run';
  export const compare = 'tracker:compare';
  export const insertCompareCell = 'tracker:insert-compare-cell';
  export const refresh = 'tracker:refresh';
}

/** The code `tracker:insert-compare-cell` inserts for these runs. */
export function compareCode(ids: string[], host: string | null = null): string {
  const runs = ids.map(id => JSON.stringify(id)).join(', ');
  const where = host ? `, host=${JSON.stringify(host)}` : '';
  return `import tracker\n\ntracker.compare(runs=[${runs}]${where})`;
}
