// `serve --check`'s upstream test: connect as client sessions would (every host in order, TLS per
// sslmode), send a startup packet and wait for the server's first reply. Any PostgreSQL reply
// (an authentication request, or an error such as an unknown role) proves the server is there;
// no login is attempted.
import { MessageStream } from '../auth/message-stream.js';
import { encodeStartupMessage } from '../protocol/frontend.js';
import { openFirstUpstreamSession, type UpstreamTarget } from './upstream-session.js';

/** Which server answered and how, e.g. "/run/postgresql:5432" or "db:5432 (TLSv1.3)". */
export async function probeUpstream(
  targets: readonly UpstreamTarget[],
  options: { user: string; signal?: AbortSignal },
): Promise<string> {
  const startup = encodeStartupMessage([
    ['user', options.user],
    ['database', 'postgres'],
    ['application_name', 'pgtunnel serve --check'],
  ]);
  const session = await openFirstUpstreamSession(
    targets,
    startup,
    options.signal ? { signal: options.signal } : {},
  );
  try {
    await new MessageStream(session.socket, 'server', session.firstBytes).next();
  } finally {
    session.socket.destroy();
  }
  return session.describe;
}
