export { type AccessLogDestination, type AccessLogEntry, type AccessLogOptions, createAccessLog, type RequestObserver } from './access-log';
export {
  createTargetLookup,
  type KoaProxiesContextLike,
  NoTargetError,
  switchyardKoaProxiesOptions,
  switchyardRouter,
  type TargetLookupOptions,
} from './adopt-targets';
export type { ProxyFailure } from './error-page';
export {
  createFrontDoor,
  type FrontDoor,
  type FrontDoorHealth,
  type FrontDoorListenOptions,
  type FrontDoorMaintenanceOptions,
  type FrontDoorOptions,
  type FrontDoorProxyOptions,
} from './front-door';
export type { HeaderMap, ProxyHooks, UpstreamRequest, UpstreamResponse } from './hooks';
export { type KoaContextLike, type KoaProxy, koaProxy } from './koa-proxy';
export type { ProxyOptions, UpgradeGuard } from './options';
export { createProxyHandler, type ExpressProxy, expressProxy, type ProxyHandler } from './proxy-handler';
export type { PathFilter, PathRewrite } from './request-shaping';
export type { ServerTimeouts } from './server-timeouts';
