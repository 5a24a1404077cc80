import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { ApiKeyRing, GENERATED_KEYS_FILE, GeneratedKeysError } from './api-key-ring.js';

describe('the generated admin key', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'keys-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  test('is created whole, then accepted, and only its file is left', () => {
    const { ring, createdKey } = ApiKeyRing.open({ apiKeys: [], dataDir });

    expect(ring.authenticate(createdKey!)).toEqual({ actor: 'admin', roles: ['admin'] });
    expect(ApiKeyRing.open({ apiKeys: [], dataDir }).createdKey).toBeNull();
    expect(readdirSync(dataDir)).toEqual([GENERATED_KEYS_FILE]);
  });

  test('a file a crash left while writing aside (this pid, say) does not stop the next start', () => {
    writeFileSync(join(dataDir, `${GENERATED_KEYS_FILE}.${process.pid}.tmp`), '[');

    const { ring, createdKey } = ApiKeyRing.open({ apiKeys: [], dataDir });

    expect(ring.authenticate(createdKey!)).not.toBeNull();
  });

  test.each([
    ['', /is not JSON/],
    ['{}', /is not a list of keys/],
    ['[null]', /holds an invalid key entry/],
    ['[{"actor": "admin", "roles": ["root"], "sha256": "00"}]', /holds an invalid key entry/],
  ])('a file holding %j is named, with what to do', (content, problem) => {
    writeFileSync(join(dataDir, GENERATED_KEYS_FILE), content);

    expect(() => ApiKeyRing.open({ apiKeys: [], dataDir })).toThrow(GeneratedKeysError);
    expect(() => ApiKeyRing.open({ apiKeys: [], dataDir })).toThrow(problem);
    expect(() => ApiKeyRing.open({ apiKeys: [], dataDir })).toThrow(/delete it, and the next start creates/);
  });
});
