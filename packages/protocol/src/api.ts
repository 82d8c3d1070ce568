// HTTP API shapes of the client–server protocol (docs/protocol.md "HTTP"). Byte fields
// travel as base64 (standard alphabet, padded) in these JSON bodies; the server's route
// schemas are the authority on limits. Application messages use the WebSocket instead.

export const USERNAME_PATTERN = '^[a-z0-9][a-z0-9._-]{1,63}$';
export const DEVICE_ID_PATTERN = '^[A-Za-z0-9_-]{8,64}$';
export const GROUP_ID_PATTERN = '^[A-Za-z0-9_-]{8,128}$';
export const TOKEN_PATTERN = '^[A-Za-z0-9_-]{43}$';
export const MESSAGE_ID_PATTERN = '^[A-Za-z0-9_-]{22}$';

export type RegistrationPolicy = 'open' | 'invite' | 'domains';

export interface RegisterRequest {
  readonly username: string;
  readonly password: string;
  readonly email?: string;
  readonly invite?: string;
}

export interface LoginRequest {
  readonly username: string;
  readonly password: string;
}

export interface SessionResponse {
  readonly token: string;
  readonly userId: string;
  readonly deviceId: string | null;
  readonly admin: boolean;
}

/**
 * `PUT /v1/identity-backup` body and `GET /v1/identity-backup` answer: the user's identity
 * key encrypted by the client under a key derived from the user's passphrase, base64
 * (at most IDENTITY_BACKUP_MAX_BYTES bytes). The server stores it opaquely.
 */
export interface IdentityBackup {
  readonly backup: string;
}

/** The body may name the field `backup` or `ciphertext` (the same bytes; exactly one). */
export type PutIdentityBackupRequest = IdentityBackup | { readonly ciphertext: string };
/** The answer carries the bytes under both names. */
export type IdentityBackupResponse = IdentityBackup & { readonly ciphertext: string };

export const IDENTITY_BACKUP_MAX_BYTES = 8192;

export interface DeviceInfo {
  readonly deviceId: string;
  readonly signatureKey: string;
  readonly cipherSuite: number;
  readonly certificate: string;
  readonly createdAt: number;
}

export interface UserDirectoryEntry {
  readonly userId: string;
  readonly identityKey: string | null;
  readonly devices: readonly DeviceInfo[];
}

export interface ClaimedKeyPackage {
  readonly deviceId: string;
  readonly keyPackage: string;
  readonly lastResort: boolean;
}

export interface CommitRequest {
  /** The epoch this commit was built on (the server checks it against the MLS bytes). */
  readonly epoch: number;
  readonly commit: string;
  readonly groupInfo: string;
  readonly ratchetTree?: string;
  readonly welcome?: string;
  readonly addedDevices?: readonly string[];
  readonly removedDevices?: readonly string[];
}

export interface CommitResponse {
  readonly epoch: number;
  readonly seq: number;
}
