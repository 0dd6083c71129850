// The demo proves its own connection: a client session through the gateway with
// sslmode=verify-full (the server certificate checked against the demo's root, for the name
// localhost), logged in, asking the server what pg_stat_ssl says about that session.
import type { TLSSocket } from 'node:tls';
import { MessageStream } from '../auth/message-stream.js';
import { loginAs } from '../gateway/scram/auth-secret-login.js';
import { applyConnInfoDefaults, parseConnString } from '../libpq/conninfo.js';
import { openFirstUpstreamSession } from '../libpq/upstream-session.js';
import { targetsFromConnInfo } from '../libpq/upstream-target.js';
import { BackendMessage } from '../protocol/codes.js';
import { encodeStartupMessage } from '../protocol/frontend.js';
import {
  decodeDataRow,
  encodeExtendedQuery,
  encodeTerminate,
  QueryReply,
} from '../protocol/query-messages.js';

export interface DemoProbe {
  /** The client's leg, to the gateway: e.g. "TLSv1.3". */
  protocol: string;
  cipher: string;
  /** What pg_stat_ssl on the server says about the same session (the gateway's leg). */
  serverSideSsl: boolean;
}

export async function probeDemo(conninfo: string): Promise<DemoProbe> {
  const info = applyConnInfoDefaults(parseConnString(conninfo), { env: {} });
  const session = await openFirstUpstreamSession(
    targetsFromConnInfo(info),
    encodeStartupMessage([
      ['user', info.user ?? 'postgres'],
      ['database', info.dbname ?? 'postgres'],
      ['application_name', 'pgtunnel demo check'],
    ]),
  );
  const socket = session.socket as TLSSocket;
  socket.on('error', () => {});
  try {
    const messages = new MessageStream(socket, 'server', session.firstBytes);
    await loginAs(
      { socket, messages, certificate: undefined },
      { user: info.user ?? 'postgres', password: undefined },
    );
    socket.write(
      encodeExtendedQuery('SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()', []),
    );
    let serverSideSsl = false;
    for (;;) {
      const message = await messages.next();
      if (message.type === QueryReply.DataRow)
        serverSideSsl = decodeDataRow(message.body)[0] === 'true';
      if (message.type === BackendMessage.ErrorResponse) throw new Error('the check query failed');
      if (message.type === BackendMessage.ReadyForQuery) break;
    }
    socket.end(encodeTerminate());
    return {
      protocol: socket.getProtocol?.() ?? 'TLS',
      cipher: socket.getCipher?.()?.name ?? '',
      serverSideSsl,
    };
  } catch (error) {
    socket.destroy();
    throw error;
  }
}
