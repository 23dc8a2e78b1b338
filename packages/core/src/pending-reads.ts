// Watchers' reads in flight across this process. A front end reports (its heartbeat) after the
// state it reports is applied; with several front ends in one process (tests, benchmarks, a
// multi-tenant front) their heartbeat writes would otherwise sit between the reads of the same
// flip and delay the last front end applying it. Reports therefore wait until no read is pending,
// for at most a bound, so a watcher that keeps reading cannot starve them. With one front end per
// process this changes nothing: its own read has ended when its report is scheduled.

let pending = 0;
let waiting: (() => void)[] = [];
let deadline: NodeJS.Timeout | undefined;

function flush(): void {
  if (deadline) clearTimeout(deadline);
  deadline = undefined;
  const callbacks = waiting;
  waiting = [];
  for (const callback of callbacks) callback();
}

/** A watcher scheduled a read. Pair with readEnded(). */
export function readStarted(): void {
  pending += 1;
}

/** A watcher's read (and the reads it chained) ended, applied or not. */
export function readEnded(): void {
  pending -= 1;
  if (pending === 0 && waiting.length > 0) setImmediate(flush);
}

/** Calls `callback` once no watcher in the process has a read pending, or after `maxDelayMs`. */
export function afterPendingReads(callback: () => void, maxDelayMs: number): void {
  waiting.push(callback);
  if (pending === 0) {
    if (waiting.length === 1) setImmediate(flush);
    return;
  }
  if (!deadline) {
    deadline = setTimeout(flush, maxDelayMs);
    deadline.unref();
  }
}
