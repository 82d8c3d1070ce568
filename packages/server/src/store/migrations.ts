// Numbered schema migrations of the SQLite store. Each runs once, in order, inside a
// transaction, and is recorded in schema_migrations. Never edit a released migration:
// add the next number.

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts, devices, key packages, groups, delivery, attachments',
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT,
        pw_hash BLOB NOT NULL,
        pw_salt BLOB NOT NULL,
        pw_params TEXT NOT NULL,
        admin INTEGER NOT NULL,
        active INTEGER NOT NULL,
        identity_key BLOB,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE invites (
        code_hash BLOB PRIMARY KEY,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        max_uses INTEGER NOT NULL,
        uses INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id),
        signature_key BLOB NOT NULL,
        cipher_suite INTEGER NOT NULL,
        certificate BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        inbox_seq INTEGER NOT NULL DEFAULT 0,
        inbox_cursor INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX devices_user ON devices(user_id);
      CREATE TABLE sessions (
        token_hash BLOB PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id),
        device_id TEXT REFERENCES devices(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX sessions_user ON sessions(user_id);
      CREATE INDEX sessions_device ON sessions(device_id);
      CREATE TABLE key_packages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        last_resort INTEGER NOT NULL,
        data BLOB NOT NULL
      );
      CREATE INDEX key_packages_device ON key_packages(device_id, last_resort, id);
      CREATE TABLE groups (
        id TEXT PRIMARY KEY,
        epoch INTEGER NOT NULL,
        group_info BLOB NOT NULL,
        ratchet_tree BLOB,
        created_at INTEGER NOT NULL,
        last_seq INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE members (
        group_id TEXT NOT NULL REFERENCES groups(id),
        device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        cursor INTEGER NOT NULL,
        PRIMARY KEY (group_id, device_id)
      ) WITHOUT ROWID;
      CREATE INDEX members_device ON members(device_id);
      CREATE TABLE messages (
        group_id TEXT NOT NULL REFERENCES groups(id),
        seq INTEGER NOT NULL,
        id BLOB NOT NULL,
        kind INTEGER NOT NULL,
        sender TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (group_id, seq)
      ) WITHOUT ROWID;
      CREATE UNIQUE INDEX messages_id ON messages(group_id, id);
      CREATE INDEX messages_created ON messages(created_at);
      CREATE TABLE inbox (
        device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        id BLOB NOT NULL,
        kind INTEGER NOT NULL,
        group_id TEXT NOT NULL,
        sender TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (device_id, seq)
      ) WITHOUT ROWID;
      CREATE TABLE attachments (
        id TEXT PRIMARY KEY,
        group_id TEXT NOT NULL REFERENCES groups(id),
        uploader TEXT NOT NULL,
        size INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'encrypted identity-key backups (opaque to the server)',
    sql: `
      CREATE TABLE identity_backups (
        user_id TEXT PRIMARY KEY REFERENCES users(id),
        data BLOB NOT NULL,
        updated_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'server state (the clean-shutdown marker of the unclean-start rule)',
    sql: `
      CREATE TABLE server_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'the log appends at its right edge and writes one row per message (rowid table, one index)',
    // Each B-tree an appended message touched was another random 4 KiB page in the WAL. The
    // log becomes a rowid table, so a message's row goes at the table's right edge (shared by
    // a batch, and split cheaply), and keeps one index, (group_id, seq). Gone: the created_at
    // index (retention prune walks each group's log in seq order), the unique (group_id, id)
    // index (a retried id is recognized from a window of each group's latest ids: sqlite.ts,
    // RecentIds), and the per-message write of groups.last_seq (sqlite.ts, "The next seq").
    sql: `
      CREATE TABLE messages_v4 (
        n INTEGER PRIMARY KEY,
        group_id TEXT NOT NULL REFERENCES groups(id),
        seq INTEGER NOT NULL,
        id BLOB NOT NULL,
        kind INTEGER NOT NULL,
        sender TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        data BLOB NOT NULL
      );
      INSERT INTO messages_v4 (group_id, seq, id, kind, sender, created_at, data)
        SELECT group_id, seq, id, kind, sender, created_at, data FROM messages ORDER BY created_at, group_id, seq;
      DROP TABLE messages;
      ALTER TABLE messages_v4 RENAME TO messages;
      CREATE UNIQUE INDEX messages_seq ON messages(group_id, seq);
    `,
  },
];
