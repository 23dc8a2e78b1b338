export { ConflictError, isSwitchyardError, SwitchyardError, type SwitchyardErrorCode } from './errors';
export { createFrontEnd, DEFAULT_REDIS_URL, FrontEnd, type FrontEndOptions } from './front-end';
export { type Closable, type GracefulShutdownOptions, shutDownGracefully } from './graceful-shutdown';
export { isSafeMethod } from './http-methods';
export type { IpRange } from './ip-range';
export { assertSiteName, DEFAULT_PREFIX, DEFAULT_SITE, isSiteName, type KeyLayout, keyLayout, type StateKind } from './keys';
export { createLogger, type Logger, type LogLevel, silentLogger } from './logger';
export {
  type MaintenanceMode,
  type MaintenanceState,
  parseMaintenance,
  stringifyMaintenance,
  validateMaintenance,
} from './maintenance-state';
export {
  defaultActor,
  deleteRoute,
  type KeptState,
  type RestoreOptions,
  readState,
  readValue,
  restoreKeptState,
  type StoredSite,
  type StoredState,
  setMaintenance,
  setRoute,
  type WriteOptions,
} from './operations';
export type { MaintenanceOutcome, RequestInfo, UpstreamFailureKind } from './request-info';
export { noteRequest, requestInfo } from './request-info';
export { type ExpressPrototypes, type ExpressServerOptions, expressServerOptions } from './request-mark';
export type { RequestStats, RequestStatsEventMap } from './request-stats';
export { parseRoute, type Route } from './route';
export type { SiteSelectionOptions } from './site-selection';
export type { SiteState } from './site-state';
export {
  type BatchOptions,
  createStore,
  type FrontEndReport,
  type HistoryEntry,
  type RawRead,
  type RawState,
  redactUrl,
  type StateWrite,
  type Store,
  type StoreOptions,
  type StoreWatch,
  type StoreWatchEventMap,
  type WriteResult,
} from './store';
export { Watcher, type WatcherEventMap, type WatcherOptions } from './watcher';
