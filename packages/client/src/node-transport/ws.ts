// Node adapter for the SDK's WebSocket transport: Node 20 has no global WebSocket, the
// `ws` package provides a WHATWG-compatible one (addEventListener, binaryType).
import { WebSocket } from 'ws';
import type { WebSocketFactory, WebSocketLike } from '../transport/ws.js';

export const nodeWebSocketFactory: WebSocketFactory = (url: string): WebSocketLike => new WebSocket(url) as unknown as WebSocketLike;
