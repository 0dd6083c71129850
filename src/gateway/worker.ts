// A worker of `pgtunnel serve`: it reads no file and listens on nothing. It says hello, gets
// its configuration (and the TLS ticket keys) from the primary over IPC, serves the
// connections the primary hands it, and follows its reload and shutdown messages.
import type { Settings } from '../config/settings.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { socketFromHandle } from '../net/handle-passing.js';
import type { TicketKeys } from '../tls/ticket-keys.js';
import type { ConfigSnapshot } from './config-snapshot.js';
import {
  HANDOFF,
  HANDOFF_TAKEN,
  type HandoffMessage,
  type HandoffTakenMessage,
} from './connection-handoff.js';
import { Gateway, type PreparedGeneration } from './gateway.js';
import type { ServingOptions } from './supervisor.js';
import { type ToPrimary, type ToWorker, unpackInWorker } from './worker-messages.js';

/** A worker: waits for its configuration, then serves what the primary hands it. */
export async function runWorker(
  servingFor: (settings: Settings) => Promise<{ logger: Logger; serving: ServingOptions }>,
): Promise<void> {
  const send = (message: ToPrimary | HandoffTakenMessage) =>
    process.send?.(message, undefined, undefined, () => {});
  // Signals go to the primary, which tells workers what to do.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  process.on('SIGHUP', () => {});
  let gateway: Gateway | undefined;
  let latestKeys: TicketKeys | undefined;
  const prepared = new Map<number, PreparedGeneration>();
  await new Promise<void>((resolve) => {
    process.on('message', (received: ToWorker | HandoffMessage, handle?: unknown) => {
      const message = unpackInWorker(received);
      switch (message?.type) {
        case HANDOFF: {
          send({ type: HANDOFF_TAKEN, id: message.id });
          if (!handle) return;
          const socket = socketFromHandle(handle);
          if (gateway) gateway.serve(socket, message.transport);
          else socket.destroy();
          return;
        }
        case 'pgtunnel:start':
          start(message.snapshot, message.ticketKeys).then((started) => {
            if (!started) resolve();
          });
          return;
        case 'pgtunnel:prepare': {
          if (!gateway) return;
          const result = gateway.prepare(message.snapshot);
          if (result.ok) prepared.set(message.snapshot.generation, result.prepared);
          send({
            type: 'pgtunnel:prepared',
            generation: message.snapshot.generation,
            ok: result.ok,
            ...(result.ok ? {} : { error: result.error }),
          });
          return;
        }
        case 'pgtunnel:commit': {
          const next = prepared.get(message.generation);
          prepared.clear();
          if (gateway && next) {
            gateway.commit(next);
            send({ type: 'pgtunnel:committed', generation: message.generation });
          }
          return;
        }
        case 'pgtunnel:abort':
          prepared.delete(message.generation);
          return;
        case 'pgtunnel:ticket-keys':
          latestKeys = message.ticketKeys;
          gateway?.setTicketKeys(message.ticketKeys);
          return;
        case 'pgtunnel:shutdown':
          if (!gateway) resolve();
          else gateway.shutdown(message.mode).then(resolve);
          return;
      }
    });
    send({ type: 'pgtunnel:hello' });
  });

  async function start(snapshot: ConfigSnapshot, ticketKeys: TicketKeys): Promise<boolean> {
    try {
      const { logger, serving } = await servingFor(snapshot.settings);
      gateway = await Gateway.start({
        snapshot,
        logger,
        ticketKeys: latestKeys ?? ticketKeys,
        events: serving.events,
        adminConsole: serving.adminConsole,
        listen: 'none',
      });
      // Keys rotated while the gateway started.
      if (latestKeys) gateway.setTicketKeys(latestKeys);
      serving.onStart?.(gateway);
    } catch (error) {
      send({ type: 'pgtunnel:start-failed', error: describeError(error) });
      return false;
    }
    send({ type: 'pgtunnel:ready', generation: snapshot.generation });
    return true;
  }
}
