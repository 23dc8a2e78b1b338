import { pollUntil } from '../deadline';
import { messageOf, type PgSession } from './session';

/** What waitUntilWritable needs: the deadline shared with the rest of the promotion, and what to say. */
export interface WritableWait {
  /** When the promotion started (`Date.now()`): the wait gets what is left of `timeoutMs`. */
  readonly started: number;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** For the timeout message, e.g. "promoting the target …". */
  readonly what: string;
  /** Checked first on each try: why the target is not ready yet, or undefined when nothing stands in the way. */
  readonly blocker?: () => Promise<string | undefined>;
}

/**
 * The end of every PostgreSQL promotion: polls until the target assigns a transaction id, i.e. accepts
 * writes (after `blocker`, if any, says nothing stands in the way), within what is left of the deadline.
 */
export async function waitUntilWritable(target: PgSession, wait: WritableWait): Promise<void> {
  let last = '';
  await pollUntil(
    async () => {
      try {
        const blocked = await wait.blocker?.();
        if (blocked !== undefined) {
          last = blocked;
          return undefined;
        }
        await target.query('SELECT txid_current()');
        return true;
      } catch (error) {
        last = messageOf(error);
        return undefined;
      }
    },
    {
      timeoutMs: Math.max(0, wait.timeoutMs - (Date.now() - wait.started)),
      signal: wait.signal,
      what: wait.what,
      describe: () => last,
    },
  );
}
