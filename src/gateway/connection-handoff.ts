// The primary of several workers accepts every connection itself and hands it to a worker
// over the IPC channel, keeping its own copy until the worker confirms it took the connection.
// node:cluster's round-robin hand-off forgets a connection sent to a worker that dies before
// answering (the client then waits for ever); here such a connection goes to another worker.
// The cost is the same as cluster's: one IPC message with a bare handle per connection.
import type { SendHandle } from 'node:child_process';
import type { Worker } from 'node:cluster';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ConnectionHandle } from '../net/handle-passing.js';

export const HANDOFF = 'pgtunnel:connection';
export const HANDOFF_TAKEN = 'pgtunnel:connection-taken';

export interface HandoffMessage {
  type: typeof HANDOFF;
  id: number;
  transport: 'tcp' | 'local';
}

export interface HandoffTakenMessage {
  type: typeof HANDOFF_TAKEN;
  id: number;
}

/** After this many workers died holding it, a connection is closed rather than passed on. */
const MAX_HANDOFFS = 3;

interface Connection {
  handle: ConnectionHandle;
  transport: 'tcp' | 'local';
  handoffs: number;
}

export class ConnectionHandoff {
  private readonly serving: Worker[] = [];
  private turn = 0;
  private nextId = 1;
  private readonly inFlight = new Map<number, Connection & { worker: Worker }>();
  /** Connections that arrived while no worker was serving (all were being replaced). */
  private readonly waiting: Connection[] = [];

  constructor(private readonly logger: Logger) {}

  /** `worker` serves the current configuration: it may be given connections. */
  add(worker: Worker): void {
    if (!this.serving.includes(worker)) this.serving.push(worker);
    for (const connection of this.waiting.splice(0)) this.send(connection);
  }

  /** `worker` is gone: what it had not confirmed goes to another worker. */
  remove(worker: Worker): void {
    const at = this.serving.indexOf(worker);
    if (at !== -1) this.serving.splice(at, 1);
    for (const [id, entry] of this.inFlight) {
      if (entry.worker !== worker) continue;
      this.inFlight.delete(id);
      this.send({ handle: entry.handle, transport: entry.transport, handoffs: entry.handoffs });
    }
  }

  /** A worker confirmed `id`: the primary's copy of the connection can go. */
  taken(id: number): void {
    const entry = this.inFlight.get(id);
    if (!entry) return;
    this.inFlight.delete(id);
    // Closes only this process's descriptor; the worker holds the connection.
    entry.handle.close();
  }

  dispatch(handle: ConnectionHandle, transport: 'tcp' | 'local'): void {
    this.send({ handle, transport, handoffs: 0 });
  }

  /** Connections not yet taken by a worker (in flight or waiting for one). */
  get pending(): number {
    return this.inFlight.size + this.waiting.length;
  }

  /** Closes every connection no worker took (at shutdown, once the workers are gone). */
  closeAll(): void {
    for (const entry of this.inFlight.values()) entry.handle.close();
    this.inFlight.clear();
    for (const connection of this.waiting.splice(0)) connection.handle.close();
  }

  private send(connection: Connection): void {
    if (connection.handoffs >= MAX_HANDOFFS) {
      this.logger.warn(
        { handoffs: connection.handoffs },
        'closing a connection: every worker it was handed to exited before taking it',
      );
      connection.handle.close();
      return;
    }
    const worker = this.nextWorker();
    if (!worker) {
      this.waiting.push(connection);
      return;
    }
    const id = this.nextId++;
    const entry = { ...connection, handoffs: connection.handoffs + 1, worker };
    this.inFlight.set(id, entry);
    const message: HandoffMessage = { type: HANDOFF, id, transport: connection.transport };
    try {
      // Node sends bare handles too (as 'net.Native'); its types name only Socket and Server.
      const handle = connection.handle as unknown as SendHandle;
      worker.send(message, handle, { keepOpen: true }, (error) => {
        if (!error || !this.inFlight.has(id)) return;
        this.inFlight.delete(id);
        this.send(entry);
      });
    } catch (error) {
      this.logger.debug({ err: describeError(error) }, 'could not hand a connection to a worker');
      this.inFlight.delete(id);
      this.send(entry);
    }
  }

  private nextWorker(): Worker | undefined {
    for (let tries = 0; tries < this.serving.length; tries++) {
      const worker = this.serving[this.turn++ % this.serving.length];
      if (worker?.isConnected()) return worker;
    }
    return undefined;
  }
}
