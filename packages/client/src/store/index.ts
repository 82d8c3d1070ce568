// The ClientStore interface and its web-standard implementations.
export type * from './client-store.js';
export { createMemoryStore } from './memory-store.js';
export { RecordSpaceStore, selectMessages, type Namespace, type RecordSpace, type RecordSpaceBackend, type StoredBytes } from './record-space.js';
export { encodeRecord, decodeRecord, encodeGroupState, decodeGroupState } from './codec.js';
