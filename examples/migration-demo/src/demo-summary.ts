import type { CutoverOutcome } from './cutover-step';
import { countByServer, type LoadResult } from './load-generator';
import type { WriteProof } from './write-proof';

/** How many lost ids the summary lists; the count is always complete. */
const LOST_IDS_SHOWN = 10;

/** Everything a demo run found, as printed with `--json`. */
export interface DemoSummary {
  readonly mode: 'memory' | 'redis';
  readonly site: string;
  /** 0 with --no-hold. */
  readonly holdMs: number;
  readonly cutover: CutoverOutcome;
  readonly requests: {
    readonly sent: number;
    readonly reads: number;
    readonly writes: number;
    readonly failed: number;
    /** Answers by HTTP status, transport failures by error code. */
    readonly outcomes: Readonly<Record<string, number>>;
    readonly slowestMs: number;
  };
  readonly writes: {
    readonly acknowledged: number;
    /** Acknowledged writes by app server (`old`, `new`). */
    readonly byServer: Readonly<Record<string, number>>;
    /** Acknowledged writes found in the new database file. */
    readonly present: number;
    readonly lost: number;
    readonly lostIds: readonly string[];
    readonly notesInNewDb: number;
  };
  /** True when nothing acknowledged was lost, the cutover succeeded and, when holding, no request failed. */
  readonly ok: boolean;
  /** One sentence saying why the run passed or failed. */
  readonly verdict: string;
}

/** What judge() weighs. */
export interface DemoFindings {
  readonly mode: 'memory' | 'redis';
  readonly site: string;
  readonly holdMs: number;
  readonly cutover: CutoverOutcome;
  readonly load: LoadResult;
  readonly proof: WriteProof;
}

/**
 * The bar: zero acknowledged writes lost; with writes held (a hold longer than the window), also
 * zero failed requests. A cutover that failed, or a run without any acknowledged write, proves nothing.
 */
export function judge(findings: DemoFindings): DemoSummary {
  const { cutover, load, proof, holdMs } = findings;
  const lost = proof.missing.length;
  const problems: string[] = [];
  if (!cutover.ok) problems.push(`the cutover failed: ${cutover.error ?? 'unknown error'}`);
  if (proof.acknowledged === 0) problems.push('no write was acknowledged, so nothing was proven');
  if (lost > 0) problems.push(`${lost} acknowledged write(s) missing from the new database`);
  if (holdMs > 0 && load.failed > 0) problems.push(`${load.failed} request(s) failed although writes were held for up to ${holdMs} ms`);
  const window =
    cutover.windowMs === undefined
      ? ''
      : ` in a ${cutover.windowMs} ms maintenance window${cutover.catchUpMs === undefined ? '' : ` (database catch-up ${cutover.catchUpMs} ms)`}`;
  const verdict =
    problems.length > 0
      ? problems.join('; ')
      : holdMs > 0
        ? `0 of ${proof.acknowledged} acknowledged writes lost, 0 failed requests${window}`
        : `0 of ${proof.acknowledged} acknowledged writes lost; ${load.failed} request(s) refused${window} (expected with --no-hold)`;
  return {
    mode: findings.mode,
    site: findings.site,
    holdMs,
    cutover,
    requests: {
      sent: load.sent,
      reads: load.reads,
      writes: load.writes,
      failed: load.failed,
      outcomes: load.outcomes,
      slowestMs: load.slowestMs,
    },
    writes: {
      acknowledged: proof.acknowledged,
      byServer: countByServer(load.acknowledged),
      present: proof.present,
      lost,
      lostIds: proof.missing.slice(0, LOST_IDS_SHOWN),
      notesInNewDb: proof.notesInDb,
    },
    ok: problems.length === 0,
    verdict,
  };
}
