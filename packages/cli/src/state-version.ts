import type { Store } from '@switchyard/core';

/** The state version Redis holds now (bumped by every write made through Switchyard). */
export async function readStateVersion(store: Store): Promise<number> {
  return (await store.readKeys([])).version;
}
