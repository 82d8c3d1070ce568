// @parley/client: the SDK under the CLI, the web app and bots. Web-standard only; the
// Node adapters (node:crypto, the SQLite profile store) are in the `./node` subpath.
export * from './errors.js';
export { SecretBytes } from './util/secret.js';
export type { ClientCrypto, Ed25519KeyPair } from './crypto/client-crypto.js';
export * from './store/index.js';
export * from './identity/identity.js';
export * from './verify/safety-number.js';
export * from './verify/contacts.js';
export { ParleyClient, type ParleyClientOptions, type MemberInfo, type DeviceListing } from './sdk/client.js';
export { sealIdentityBackup, openIdentityBackup, DEFAULT_BACKUP_KDF, type BackupKdf } from './sdk/identity-backup.js';
export { AttachmentApi, attachmentText, parseAttachmentText, encryptAttachment, decryptAttachment, type AttachmentRef } from './sdk/attachments.js';
export type { ParleyEvent, ParleyListener, SkipReason, WarningCode } from './sdk/events.js';
export { HttpApi, ServerError, type WireMessage, type FetchLike } from './transport/http.js';
export { WsConnection, type WebSocketLike, type WebSocketFactory } from './transport/ws.js';
