export { hashSecret } from './bypass-cookie';
export { type ClientAddress, createClientAddress } from './client-address';
export { type ExpressMaintenanceMiddleware, expressMaintenance } from './express';
export { createMaintenanceHandler, type MaintenanceDecision, MaintenanceHandler } from './handler';
export { type KoaMaintenanceContext, type KoaMaintenanceMiddleware, koaMaintenance } from './koa';
export type { MaintenanceMiddlewareMembers } from './middleware';
export type { MaintenanceOptions, MaintenancePage, MaintenancePageInfo, TrustProxy } from './options';
export { escapeHtml } from './page';
export type { MaintenanceResponse } from './response';
