// @parley/client/node: the Node adapters (node:crypto, the encrypted SQLite profile store, WebSockets on the ws package).
export { nodeClientCrypto } from './crypto.js';
export { openSqliteStore, changeSqliteStorePassphrase, DEFAULT_KDF, PROFILE_DATABASE, type KdfParams, type OpenSqliteStoreOptions } from './sqlite-store.js';
export { nodeWebSocketFactory } from '../node-transport/ws.js';
export { nodeCryptoProvider } from '@parley/mls/crypto-node';
