// @parley/client/browser: the browser adapters (WebCrypto, the encrypted IndexedDB profile
// store) and the MLS engine's WebCrypto backend, so a web app needs only this package.
export { webClientCrypto } from './crypto.js';
export { openIndexedDbStore, indexedDbStoreExists, deleteIndexedDbStore, databaseName, DEFAULT_BROWSER_KDF, type KdfParams, type OpenIndexedDbStoreOptions } from './indexeddb-store.js';
export { webCryptoProvider } from '@parley/mls/crypto-web';
