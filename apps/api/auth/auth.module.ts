import fs from 'node:fs';
import path from 'node:path';
import { Global, Logger, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { ApiKeyRing, GENERATED_KEYS_FILE } from './api-key-ring.js';
import { RolesGuard } from './auth.guard.js';

function openKeyRing(config: LedgerConfig): ApiKeyRing {
  const { ring, createdKey } = ApiKeyRing.open(config);
  const generatedKeysFile = path.join(config.dataDir, GENERATED_KEYS_FILE);
  if (createdKey) {
    // Shown once, on the console, so the quick start works; only its hash is kept.
    process.stdout.write(
      `\nNo LEDGER_API_KEYS configured: created an admin API key (only its hash is stored in ` +
        `${GENERATED_KEYS_FILE} of the data dir). It is shown this once:\n\n    ${createdKey}\n\n` +
        `Send it as "Authorization: Bearer ${createdKey}".\n\n`,
    );
  } else if (config.apiKeys.length === 0) {
    new Logger('Auth').log(`Using the generated admin key of ${generatedKeysFile}`);
  } else if (fs.existsSync(generatedKeysFile)) {
    // Its holder is refused from now on: say why, where the operator looks.
    new Logger('Auth').warn(
      `LEDGER_API_KEYS is set: the generated admin key of ${generatedKeysFile} is not accepted ` +
        '(delete that file if the key is no longer wanted)',
    );
  }
  return ring;
}

@Global()
@Module({
  providers: [
    { provide: ApiKeyRing, inject: [LEDGER_CONFIG], useFactory: openKeyRing },
    { provide: APP_GUARD, useClass: RolesGuard },
  ],
  exports: [ApiKeyRing],
})
export class AuthModule {}
