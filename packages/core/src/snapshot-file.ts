import { readFile, rename, writeFile } from 'node:fs/promises';
import type { RawState } from './store';

/** What a snapshot file holds: the raw values a front end had in force, and when. */
interface SnapshotFile {
  readonly savedAt: string;
  readonly version: number;
  readonly values: Record<string, string>;
}

/** Writes the snapshot atomically (temporary file, then rename), so a crash never leaves half a file. */
export async function writeSnapshotFile(path: string, state: RawState): Promise<void> {
  const file: SnapshotFile = { savedAt: new Date().toISOString(), version: state.version, values: Object.fromEntries(state.values) };
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(file)}\n`, { mode: 0o600 });
  await rename(temporary, path);
}

/** Reads a snapshot; undefined when there is none or it is unreadable (the caller says so). */
export async function readSnapshotFile(path: string): Promise<(RawState & { savedAt: string }) | undefined> {
  try {
    const file = JSON.parse(await readFile(path, 'utf8')) as Partial<SnapshotFile>;
    if (typeof file.version !== 'number' || typeof file.values !== 'object' || file.values === null) return undefined;
    const values = new Map(Object.entries(file.values).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    return { savedAt: String(file.savedAt), version: file.version, values };
  } catch {
    return undefined;
  }
}
