// The in-memory ClientStore passes the ClientStore conformance suite.
import { clientStoreConformance } from '@parley/testing';
import { createMemoryStore } from '../src/store/memory-store.js';

clientStoreConformance('memory', async () => ({ store: createMemoryStore() }));
