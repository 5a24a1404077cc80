/**
 * Tamper evidence: checks the per-stream hash chain of DESIGN.md.
 *
 * What the chain proves: every event of a stream, from version 1 to the last one read, is
 * exactly what was appended (envelope and data, streamId, streamVersion and recordedAt are
 * all hashed), none is missing between them, none was inserted between them and they are in
 * their original order. Editing, deleting, inserting or reordering an event breaks the chain
 * at that event; an attacker who also recomputes the edited event's hash still breaks it at
 * the NEXT event, whose hash was chained on the original one. So the first broken link is
 * the altered event or the one after it.
 *
 * What it cannot prove: the chain is not keyed, so anyone with write access can rewrite a
 * stream's tail consistently (edit the last event and recompute its hash, or every hash from
 * the edit on), drop the newest events, or append forged ones with correct hashes; a store
 * rewritten that way verifies. Catching that needs an anchor kept outside the store: the head
 * hashes of an audit bundle's manifest (see bundle.ts), recorded when it was exported. A
 * stream whose event at the manifest's lastVersion no longer has the manifest's headHash
 * was rewritten since (compareWithBundle, bundle-anchor.ts, checks that). Global positions are not hashed (they are store-specific): only their
 * order is checked, so moving events of different streams past each other goes unnoticed.
 */
import { chainHash, GENESIS_HASH, type EventStore, type StoredEvent } from '../event-store/index.js';

/** Where the chain breaks. */
export interface BrokenLink {
  streamId: string;
  /** The version at which the chain breaks: for a missing or misplaced event, the version expected there. */
  version: number;
  /** Position of the event found there. */
  position: bigint;
  /** The hash the event should have (null when the break is not about the hash). */
  expectedHash: string | null;
  /** The hash it has. */
  foundHash: string | null;
  problem: string;
}

export interface Progress {
  done: number;
  /** Unknown when the source cannot tell in advance (a store's log). */
  total?: number;
}

export type OnProgress = (progress: Progress) => void;

/** A stream's chain so far: its last version and hash (0 and the genesis hash before its first event). */
interface ChainHead {
  version: number;
  hash: string;
}

/**
 * Checks events in the order of a log (a store's, a bundle's, or one stream's): global
 * positions strictly increase, and every stream's chain continues from its previous event.
 * Holds one head per stream, so the log itself is never held in memory.
 */
export class ChainVerifier {
  private readonly heads = new Map<string, ChainHead>();
  private lastPosition: bigint | null = null;
  private checked = 0;

  /** The broken link `event` makes, or null when it continues the log and its stream's chain. */
  check(event: StoredEvent): BrokenLink | null {
    this.checked += 1;
    const head = this.heads.get(event.streamId) ?? { version: 0, hash: GENESIS_HASH };
    const link = { streamId: event.streamId, version: event.streamVersion, position: event.globalPosition };
    if (this.lastPosition !== null && event.globalPosition <= this.lastPosition) {
      return {
        ...link,
        expectedHash: null,
        foundHash: null,
        problem: `position ${event.globalPosition} does not come after position ${this.lastPosition}`,
      };
    }
    this.lastPosition = event.globalPosition;
    const expectedVersion = head.version + 1;
    if (event.streamVersion !== expectedVersion) {
      return {
        ...link,
        version: expectedVersion,
        expectedHash: null,
        foundHash: event.hash,
        problem:
          head.version === 0
            ? `the stream starts at version ${event.streamVersion}, not 1: its first events are missing or out of order`
            : `expected version ${expectedVersion} after version ${head.version}, found version ${event.streamVersion}`,
      };
    }
    const expectedHash = chainHash(head.hash, event);
    if (event.hash !== expectedHash) {
      return {
        ...link,
        expectedHash,
        foundHash: event.hash,
        problem: 'the hash does not match this content chained on the previous hash',
      };
    }
    this.heads.set(event.streamId, { version: event.streamVersion, hash: event.hash });
    return null;
  }

  /** Events checked, the one that broke the chain included. */
  get checkedEvents(): number {
    return this.checked;
  }

  /** Each stream seen, with the last version and hash that verified. */
  get streams(): ReadonlyMap<string, Readonly<ChainHead>> {
    return this.heads;
  }
}

/** One stream's verdict, as `verifyIncidentIntegrity(id)` gives it. */
export interface IntegrityReport {
  valid: boolean;
  /** Events checked, the first broken one included. */
  checkedEvents: number;
  firstBrokenVersion: number | null;
  expectedHash: string | null;
  foundHash: string | null;
  problem: string | null;
  /**
   * The hash of the newest event, when the chain is valid: the stream's anchor. The chain cannot
   * show events cut off its end; the same version with another head hash later can.
   */
  headHash: string | null;
}

/** Checks a whole stream, read from version 1 in version order (as `readStream` gives it). */
export function verifyStreamEvents(events: StoredEvent[]): IntegrityReport {
  const verifier = new ChainVerifier();
  for (const [index, event] of events.entries()) {
    // The verifier keeps one chain per stream; here, another stream's event is itself a break.
    const broken =
      event.streamId === events[0].streamId
        ? verifier.check(event)
        : {
            version: event.streamVersion,
            expectedHash: null,
            foundHash: null,
            problem: `an event of stream ${event.streamId}`,
          };
    if (broken !== null) {
      return {
        valid: false,
        checkedEvents: index + 1,
        firstBrokenVersion: broken.version,
        expectedHash: broken.expectedHash,
        foundHash: broken.foundHash,
        problem: broken.problem,
        headHash: null,
      };
    }
  }
  return {
    valid: true,
    checkedEvents: events.length,
    firstBrokenVersion: null,
    expectedHash: null,
    foundHash: null,
    problem: null,
    headHash: events.at(-1)?.hash ?? null,
  };
}

export interface StoreIntegrityReport {
  valid: boolean;
  /** Events read: the log up to its head when the walk started (a broken stream's later ones unchecked). */
  checkedEvents: number;
  checkedStreams: number;
  /** Where each broken stream's chain breaks first (its later events are not checked), in log order. */
  broken: BrokenLink[];
  /** Positions that hold no event though the store handed them out (see VerifyStoreOptions). */
  missingPositions: PositionRange[];
}

/** Positions `from` to `to`, both included. */
export interface PositionRange {
  from: bigint;
  to: bigint;
}

export interface VerifyStoreOptions {
  /** Called after each page of the log. */
  onProgress?: OnProgress;
  /**
   * For a store whose positions count its events (the embedded one: 1, 2, 3… and never a gap):
   * the last position it handed out. A position without its event is an event removed from the
   * log, which no chain shows when it was a whole stream or a stream's newest events. Omitted
   * for a store whose positions leave gaps (KurrentDB's).
   */
  positionsHandedOut?: bigint | null;
  /** Told each stream's first event, in log order (what compareWithBundle judges other streams by). */
  onFirstEvent?: (event: StoredEvent) => void;
}

/**
 * Walks the log in global order as it stood when the walk started, checking every stream's
 * chain as it goes. It goes on past a break, so that the report scopes the damage: each broken
 * stream once, where it first breaks (what follows cannot be trusted), every other stream whole.
 */
export async function verifyStore(
  store: EventStore,
  { onProgress, positionsHandedOut, onFirstEvent }: VerifyStoreOptions = {},
): Promise<StoreIntegrityReport> {
  const verifier = new ChainVerifier();
  const streams = new Set<string>();
  const broken = new Map<string, BrokenLink>();
  const missingPositions: PositionRange[] = [];
  let walked = 0;
  let expectedPosition = 1n;
  for await (const page of logPages(store, await store.headPosition())) {
    for (const event of page) {
      walked += 1;
      if (!streams.has(event.streamId)) {
        streams.add(event.streamId);
        onFirstEvent?.(event);
      }
      if (positionsHandedOut !== undefined && event.globalPosition > expectedPosition) {
        missingPositions.push({ from: expectedPosition, to: event.globalPosition - 1n });
      }
      expectedPosition = event.globalPosition + 1n;
      if (broken.has(event.streamId)) continue;
      const link = verifier.check(event);
      if (link !== null) broken.set(event.streamId, link);
    }
    onProgress?.({ done: walked });
  }
  if (
    positionsHandedOut !== undefined &&
    positionsHandedOut !== null &&
    positionsHandedOut >= expectedPosition
  ) {
    missingPositions.push({ from: expectedPosition, to: positionsHandedOut });
  }
  return {
    valid: broken.size === 0 && missingPositions.length === 0,
    checkedEvents: walked,
    checkedStreams: streams.size,
    broken: [...broken.values()],
    missingPositions,
  };
}

/** Events per readAll page. */
const PAGE_SIZE = 1000;

/**
 * The log in global order, page by page, up to and including `throughPosition` (the head
 * when the caller started, so that appends made meanwhile do not keep the walk going).
 */
export async function* logPages(
  store: EventStore,
  throughPosition: bigint | null,
): AsyncGenerator<StoredEvent[]> {
  if (throughPosition === null) return;
  let after: bigint | null = null;
  for (;;) {
    const page: StoredEvent[] = (await store.readAll(after, PAGE_SIZE)).filter(
      (event) => event.globalPosition <= throughPosition,
    );
    if (page.length > 0) yield page;
    if (page.length < PAGE_SIZE) return;
    after = page[page.length - 1].globalPosition;
  }
}
