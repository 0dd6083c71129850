// inetd mode in-process: the one connection is a stream, and serving it only ends once the
// client has everything, so that the process may exit right after. Also where a bad
// local_sslcert is reported.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.js';
import { silentLogger } from '../log.js';
import { decodeErrorFields } from '../protocol/backend-error.js';
import { encodeStartupMessage } from '../protocol/frontend.js';
import { parseTunnelFile } from './tunnel-config.js';
import { loadLocalTls, serveInetdConnection } from './tunnel-server.js';
import { type TunnelSpec, tunnelSpecFromSection } from './tunnel-spec.js';

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('serveInetdConnection', () => {
  it('resolves only after the FATAL for an upstream failure has been written', async () => {
    const spec: TunnelSpec = {
      name: 'inetd',
      listen: [],
      targets: [{ host: '127.0.0.1', port: await closedPort(), sslmode: 'disable' }],
      raw: false,
      warnings: [],
    };
    const written: Buffer[] = [];
    let flushed = false;
    // stdout that takes its time, like a socket whose send buffer is full
    const stdio = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        setTimeout(() => {
          written.push(chunk);
          flushed = true;
          callback();
        }, 200);
      },
    });
    stdio.push(encodeStartupMessage([['user', 'postgres']]));
    await serveInetdConnection(spec, stdio, silentLogger);
    assert.equal(flushed, true, 'returned before the reply reached the client');
    const reply = Buffer.concat(written);
    assert.equal(String.fromCharCode(reply[0] ?? 0), 'E');
    const fields = decodeErrorFields(reply.subarray(5));
    assert.equal(fields.get('C'), '08001');
    assert.match(fields.get('M') ?? '', /failed: Connection refused$/);
  });
});

describe('loadLocalTls', () => {
  it('names the config file line of a local_sslcert that cannot be loaded', () => {
    const text =
      '[local]\naccept = 1\nconnect = host=db\nlocal_sslcert = /nonexistent/local.crt\nlocal_sslkey = /nonexistent/local.key\n';
    const [section] = parseTunnelFile(text, 'connect.conf').tunnels;
    assert.ok(section);
    assert.throws(
      () => loadLocalTls(tunnelSpecFromSection(section, {})),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.code, 'ERR_TLS_CREDENTIALS');
        assert.match(
          error.message,
          /^connect\.conf:4: tunnel "local": could not load local_sslcert "\/nonexistent\/local\.crt" \/ local_sslkey "\/nonexistent\/local\.key": ENOENT/,
        );
        return true;
      },
    );
  });
});
