import { Global, Module } from '@nestjs/common';
import { CommandSender } from './command-sender.js';
import { ExecuteStreamCommandHandler } from './execute-stream-command.js';

/** The command side every stream type shares: load, decide, append, with retries and idempotency. */
@Global()
@Module({
  providers: [CommandSender, ExecuteStreamCommandHandler],
  exports: [CommandSender],
})
export class CommandsModule {}
