import type { IncomingMessage } from 'node:http';
import { isSafeMethod, type SiteState, type Watcher } from '@switchyard/core';
import type { Exchange } from './exchange';

/** Why an upload was cut: maintenance started while its body was still arriving. */
export const CUT_FOR_MAINTENANCE = new Error('maintenance started while the request body was still arriving');

/**
 * The drain policy for writes still uploading when maintenance starts (docs/proxy.md, "Requests in
 * flight"): they are cut and answered like a write arriving during maintenance (503). Their body had
 * not all arrived, so the upstream cannot have acted on it and nobody was told it succeeded: cutting
 * loses nothing, while waiting would let one slow client (1 byte/s) hold the cutover's drain open.
 * A write whose body has fully arrived is left to finish: that is what the drain waits for.
 */
export class UploadingWrites {
  private readonly bySite = new Map<string, Set<Exchange>>();

  constructor(private readonly watcher: Watcher) {
    watcher.on('change', this.onChange);
  }

  /** Tracks a write until its request body has arrived or its response has closed. */
  track(exchange: Exchange): void {
    const { req, res, site } = exchange;
    if (isSafeMethod(req.method) || req.complete) return;
    let exchanges = this.bySite.get(site);
    if (!exchanges) {
      exchanges = new Set();
      this.bySite.set(site, exchanges);
    }
    exchanges.add(exchange);
    const untrack = () => {
      exchanges.delete(exchange);
      if (exchanges.size === 0 && this.bySite.get(site) === exchanges) this.bySite.delete(site);
    };
    (req as IncomingMessage).once('end', untrack);
    res.once('close', untrack);
  }

  /** Stops following the watcher. */
  close(): void {
    this.watcher.off('change', this.onChange);
    this.bySite.clear();
  }

  private readonly onChange = (site: string, state: SiteState | undefined, previous: SiteState | undefined): void => {
    if (!state?.maintenance || previous?.maintenance) return;
    const exchanges = this.bySite.get(site);
    if (!exchanges) return;
    for (const exchange of [...exchanges]) if (!exchange.req.complete) exchange.abort(CUT_FOR_MAINTENANCE);
  };
}
