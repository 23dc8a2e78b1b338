import type { HistoryEntry } from '@switchyard/core';
import type { CommandSpec } from '../command';
import { describeMaintenanceValue } from '../describe';
import { parseWholeNumber } from '../option-values';
import { readHistory } from '../site-history';
import { formatTable, formatTime, type Style } from '../style';

/** `switchyard history` */
export const historyCommand: CommandSpec = {
  name: 'history',
  summary: 'the change log: who changed which route or maintenance state, when',
  description: [
    'Lists the changes recorded in the history stream, newest first: every site unless --site is',
    'given. Changes made with a bare redis-cli SET are not recorded.',
  ].join('\n'),
  options: {
    limit: { type: 'string', short: 'n', value: '<n>', description: 'how many entries (default 20)' },
    cutover: { type: 'string', value: '<id>', description: 'only the steps of this cutover' },
  },
  examples: ['switchyard history', 'switchyard history --site shop --limit 5', 'switchyard history --cutover c-m3x9k2-4f1a --json'],
  async run(context, args) {
    const limit = parseWholeNumber(args.string('limit') ?? '20', 'limit', 1, 10_000);
    const entries = await readHistory(context.store, {
      limit,
      ...(context.options.siteGiven ? { site: context.site } : {}),
      ...(args.string('cutover') ? { cutoverId: args.string('cutover') } : {}),
    });
    if (context.json) {
      context.printJson({ entries });
      return 0;
    }
    if (entries.length === 0) {
      context.print('no recorded changes');
      return 0;
    }
    const { style } = context;
    const rows = entries.map((entry) => [
      formatTime(entry.time),
      entry.actor,
      entry.site,
      entry.action,
      describeChange(entry, style),
      `v${entry.version}`,
      entry.cutoverId ? style.dim(entry.cutoverId) : '',
    ]);
    for (const line of formatTable([['TIME', 'BY', 'SITE', 'ACTION', 'CHANGE', 'VERSION', 'CUTOVER'].map(style.bold), ...rows]))
      context.print(line);
    return 0;
  },
};

/** `http://a → http://b`, or `off → read-only, hold 3.0 s` for maintenance. */
export function describeChange(entry: HistoryEntry, style: Style): string {
  const show = (value: string | null) => (entry.kind === 'maintenance' ? describeMaintenanceValue(value) : (value ?? '(none)'));
  return `${entry.kind === 'route' ? 'route' : 'maintenance'} ${show(entry.old)} → ${style.cyan(show(entry.new))}`;
}
