// @parley/server: the delivery and authentication service.
export { startServer, type RunningServer, type StartOptions } from './server.js';
export { defaultConfig, type ServerConfig, type RateLimits } from './config.js';
export { createUser, createInvite, publicUser, revokeInvite, type NewUser, type InviteCreated } from './accounts.js';
export { ApiError } from './errors.js';
export { SqliteStore, migrate } from './store/sqlite.js';
export { MemoryStore } from './store/memory.js';
export type * from './store/store.js';
export { StoreConflictError } from './store/store.js';
export { InProcessBus, type Bus, type BusEvent } from './bus.js';
export { EnvelopeInspector, InspectionError, type MlsInspector, type InspectedCommit, type CommitInput } from './mls/inspector.js';
export { PublicInspector, type PublicInspectorOptions } from './mls/public-inspector.js';
export { createLogger, REDACT_PATHS } from './logger.js';
export { DEFAULT_SCRYPT, type ScryptParams } from './auth/password.js';
