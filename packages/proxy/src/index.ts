export {
  createTargetLookup,
  type KoaProxiesContextLike,
  NoTargetError,
  switchyardKoaProxiesOptions,
  switchyardRouter,
  type TargetLookupOptions,
} from './adopt-targets';
export type { ProxyFailure } from './error-page';
export { type KoaContextLike, type KoaProxy, koaProxy } from './koa-proxy';
export type { ProxyOptions, UpgradeGuard } from './options';
export { createProxyHandler, type ExpressProxy, expressProxy, type ProxyHandler } from './proxy-handler';
