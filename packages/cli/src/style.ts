/** ANSI styling that collapses to plain text when colour is off (no TTY, NO_COLOR, --json). */
export interface Style {
  readonly enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

const wrap = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
const plain = (text: string) => text;

/** Builds a Style; `enabled` false makes every method the identity. */
export function createStyle(enabled: boolean): Style {
  return {
    enabled,
    bold: enabled ? wrap(1, 22) : plain,
    dim: enabled ? wrap(2, 22) : plain,
    red: enabled ? wrap(31, 39) : plain,
    green: enabled ? wrap(32, 39) : plain,
    yellow: enabled ? wrap(33, 39) : plain,
    cyan: enabled ? wrap(36, 39) : plain,
  };
}

/** Length of text as shown on a terminal (ANSI escapes take no room). */
export function visibleLength(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes is the point
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}

/** Lays rows out in left-aligned columns separated by two spaces. */
export function formatTable(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [index, cell] of row.entries()) widths[index] = Math.max(widths[index] ?? 0, visibleLength(cell));
  }
  return rows.map((row) =>
    row
      .map((cell, index) => (index === row.length - 1 ? cell : cell + ' '.repeat((widths[index] ?? 0) - visibleLength(cell))))
      .join('  ')
      .trimEnd(),
  );
}

/** `42 ms`, `3.4 s`, `2 min 5 s`: durations the way an operator reads them. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return minutes < 60 ? `${minutes} min ${seconds} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A timestamp for humans: local date and time to the second. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
