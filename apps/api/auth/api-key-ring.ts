import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { syncDirectorySync } from '../../../libs/event-store/sqlite/sync-directory.js';
import { ROLES, type LedgerConfig, type Role } from '../config/ledger-config.js';

export interface Principal {
  actor: string;
  roles: Role[];
}

interface HashedKey extends Principal {
  sha256: Buffer;
}

/** Where `npm start` keeps the hash of the admin key it generates when no key is configured. */
export const GENERATED_KEYS_FILE = 'api-keys.json';

function sha256(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * The API keys the server accepts. Only SHA-256 hashes are held; a presented key is hashed
 * and compared with every known hash in constant time, so timing tells nothing about which
 * key (or how much of one) matched.
 */
export class ApiKeyRing {
  private constructor(private readonly keys: HashedKey[]) {}

  /**
   * The configured keys or, when none are configured, the generated admin key of the data
   * dir, created on first start. `createdKey` is that new key in clear, to be shown once.
   */
  static open(config: Pick<LedgerConfig, 'apiKeys' | 'dataDir'>): {
    ring: ApiKeyRing;
    createdKey: string | null;
  } {
    if (config.apiKeys.length > 0) {
      const keys = config.apiKeys.map(({ actor, roles, key }) => ({ actor, roles, sha256: sha256(key) }));
      return { ring: new ApiKeyRing(keys), createdKey: null };
    }
    const file = path.join(config.dataDir, GENERATED_KEYS_FILE);
    if (fs.existsSync(file)) return { ring: new ApiKeyRing(readGeneratedKeys(file)), createdKey: null };
    const createdKey = randomBytes(24).toString('base64url');
    fs.mkdirSync(config.dataDir, { recursive: true });
    const stored = [{ actor: 'admin', roles: ['admin'], sha256: sha256(createdKey).toString('hex') }];
    writeDurably(file, JSON.stringify(stored, null, 2) + '\n');
    return { ring: new ApiKeyRing(readGeneratedKeys(file)), createdKey };
  }

  authenticate(presentedKey: string): Principal | null {
    const presented = sha256(presentedKey);
    let found: HashedKey | null = null;
    for (const key of this.keys) {
      // No early exit: every comparison runs whatever matched.
      if (timingSafeEqual(presented, key.sha256)) found = key;
    }
    return found && { actor: found.actor, roles: found.roles };
  }
}

/**
 * The key is printed once and never again: its hash must be on disk, whole, before it is shown.
 * Written aside, synced, then linked into place (which fails if another start got there first),
 * so a crash leaves either no file (a new key next start) or the whole one, never a cut one.
 */
function writeDurably(file: string, content: string): void {
  // Never the same name twice: a crash may leave one behind, and a restart may have the same pid.
  const aside = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = fs.openSync(aside, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(aside, file);
  } finally {
    fs.rmSync(aside, { force: true });
  }
  syncDirectorySync(path.dirname(file));
}

/** api-keys.json cannot be used (edited by hand, or cut by a crash of an older release). */
export class GeneratedKeysError extends Error {
  constructor(file: string, problem: string) {
    super(
      `${path.resolve(file)} ${problem}: delete it, and the next start creates an admin key and ` +
        'prints it once (or set LEDGER_API_KEYS)',
    );
  }
}

function readGeneratedKeys(file: string): HashedKey[] {
  let stored: unknown;
  try {
    stored = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new GeneratedKeysError(file, `is not JSON (${error.message})`);
  }
  if (!Array.isArray(stored)) throw new GeneratedKeysError(file, 'is not a list of keys');
  return stored.map((entry: { actor?: unknown; roles?: unknown; sha256?: unknown } | null) => {
    const valid =
      typeof entry === 'object' &&
      entry !== null &&
      typeof entry.actor === 'string' &&
      Array.isArray(entry.roles) &&
      entry.roles.every((role) => ROLES.includes(role)) &&
      typeof entry.sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(entry.sha256);
    if (!valid) throw new GeneratedKeysError(file, 'holds an invalid key entry');
    return {
      actor: entry.actor as string,
      roles: entry.roles as Role[],
      sha256: Buffer.from(entry.sha256 as string, 'hex'),
    };
  });
}
