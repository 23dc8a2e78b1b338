export { ConflictError, isSwitchyardError, SwitchyardError, type SwitchyardErrorCode } from './errors';
export { createFrontEnd, FrontEnd, type FrontEndOptions } from './front-end';
export { type Closable, type GracefulShutdownOptions, shutDownGracefully } from './graceful-shutdown';
export { isSafeMethod } from './http-methods';
export { type IpRange, ipMatcher, parseIpRange } from './ip-range';
export { assertSiteName, DEFAULT_PREFIX, DEFAULT_SITE, isSiteName, type KeyLayout, keyLayout, type StateKind } from './keys';
export { createLogger, type Logger, type LogLevel, silentLogger } from './logger';
export {
  type MaintenanceMode,
  type MaintenanceState,
  parseMaintenance,
  stringifyMaintenance,
  validateMaintenance,
} from './maintenance-state';
export { prefersJson } from './negotiation';
export {
  defaultActor,
  deleteRoute,
  readState,
  readValue,
  type StoredSite,
  type StoredState,
  setMaintenance,
  setRoute,
  type WriteOptions,
  writeRaw,
} from './operations';
export { RequestStats } from './request-stats';
export { parseRoute, type Route } from './route';
export { createSiteSelector, type SiteSelectionOptions } from './site-selection';
export { parseStateValue, type SiteState, stateDigest } from './site-state';
export {
  createStore,
  type FrontEndReport,
  type HistoryEntry,
  type RawRead,
  type RawState,
  redactUrl,
  type StateWrite,
  type Store,
  type StoreOptions,
  type StoreWatchEvents,
  type WriteResult,
} from './store';
export { refuseUpgrade } from './upgrade-refusal';
export { Watcher, type WatcherEventMap, type WatcherOptions } from './watcher';
