import type {
  BeforeApplicationShutdown,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';

/** Something that follows the event store in the background (a dispatcher). */
export interface BackgroundWorker {
  /** Refuses (CheckpointAheadOfLogError) a file of the worker's that is ahead of the event store. */
  assertWithinLog(): Promise<void>;
  start(): void;
  /** Finishes the work in hand; the event store is still open. */
  stop(): Promise<void>;
  /** Releases its own files. */
  close(): void;
}

/**
 * The lifecycle a module gives its background worker: started once the app is up, stopped
 * before the event store closes, closed last.
 */
export abstract class BackgroundWorkerModule
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  protected abstract readonly worker: BackgroundWorker;

  async onApplicationBootstrap(): Promise<void> {
    await this.worker.assertWithinLog();
    this.worker.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.worker.stop();
  }

  onApplicationShutdown(): void {
    this.worker.close();
  }
}
