/**
 * Helpers Switchyard's own packages (proxy, maintenance, CLI) share. Not part of the public API:
 * names and signatures here may change in any release. Import from `@switchyard/core/internal`.
 */
export {
  type CutoverJournal,
  type CutoverJournalEntry,
  parseCutoverJournal,
  serializeCutoverJournal,
} from './cutover-journal';
export {
  addResponseHeader,
  applyAddedHeaders,
  badRequestResponse,
  escapeHtml,
  HTML_HEADERS,
  HTTP_TOKEN,
  type HtmlPage,
  type HttpResponse,
  INVALID_FIELD_VALUE,
  JSON_HEADERS,
  type MessageResponse,
  messageResponse,
  renderHtmlPage,
  safeJson,
  withAddedHeaders,
  writeResponse,
} from './http-response';
export { ipMatcher, parseIpRange } from './ip-range';
export { prefersJson } from './negotiation';
export { writeRaw } from './operations';
export { constructorsFor, settleSwappedPrototype } from './request-mark';
export { type CanonicalRequest, type CanonicalTarget, canonicalizeRequest, canonicalizeTarget } from './request-path';
export { RequestStats } from './request-stats';
export { createSiteSelector } from './site-selection';
export { parseStateValue, stateDigest } from './site-state';
export { HISTORY_LIMIT } from './store-common';
export { refuseUpgrade } from './upgrade-refusal';
