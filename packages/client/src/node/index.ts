// @parley/client/node: the Node adapters (node:crypto and the encrypted SQLite profile store).
export { nodeClientCrypto } from './crypto.js';
export { openSqliteStore, changeSqliteStorePassphrase, DEFAULT_KDF, PROFILE_DATABASE, type KdfParams, type OpenSqliteStoreOptions } from './sqlite-store.js';
