import type { HistoryEntry, Store } from '@switchyard/core';
import { HISTORY_LIMIT } from '@switchyard/core/internal';

/** Filters of readHistory. */
export interface HistoryFilter {
  /** Only this site's entries. */
  site?: string;
  /** Only the entries of this cutover. */
  cutoverId?: string;
  /** Most entries returned. */
  limit: number;
}

/** The stream is capped near this length (core's one cap), so reading this many reads all of it. */
const WHOLE_HISTORY = HISTORY_LIMIT;

/**
 * Newest-first history entries matching the filter. The stream holds every site, so a filtered
 * read starts with a few times the limit and reads everything only when that was not enough.
 */
export async function readHistory(store: Store, filter: HistoryFilter): Promise<HistoryEntry[]> {
  const matches = (entry: HistoryEntry) =>
    (filter.site === undefined || entry.site === filter.site) && (filter.cutoverId === undefined || entry.cutoverId === filter.cutoverId);
  if (filter.site === undefined && filter.cutoverId === undefined) return store.history(filter.limit);
  const first = Math.min(WHOLE_HISTORY, filter.limit * 8);
  let entries = await store.history(first);
  let found = entries.filter(matches);
  if (found.length < filter.limit && entries.length === first && first < WHOLE_HISTORY) {
    entries = await store.history(WHOLE_HISTORY);
    found = entries.filter(matches);
  }
  return found.slice(0, filter.limit);
}
