// The status page at `/` of the admin endpoint, rendered by a real headless Chromium (Debian's
// `chromium`): it shows a session opened by psql (its application name, TLS 1.3, the client
// certificate's DN and the backend pid psql itself reports), the TLS breakdown, the served
// certificate and the refusal chart, with no script and nothing loaded from elsewhere. On a
// failure a screenshot is written to test-results/.
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientBinary } from '../../src/demo/postgres-binaries.js';
import { certificateNames } from '../../src/tls/distinguished-name.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { PROJECT_ROOT } from '../helpers/pgtunnel-process.js';
import { freePort } from '../helpers/ports.js';
import { run } from '../helpers/run.js';

const SCREENSHOT_DIR = join(PROJECT_ROOT, 'test-results');

/** Runs headless Chromium once against `url` with `args` (a fresh profile each time). */
async function chromium(url: string, args: string[]): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'pgtunnel-chromium-'));
  try {
    const result = await run(
      'chromium',
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        `--user-data-dir=${profile}`,
        '--window-size=1400,1200',
        ...args,
        url,
      ],
      { timeoutMs: 300_000 },
    );
    if (result.code !== 0) throw new Error(`chromium failed (${result.code}): ${result.stderr}`);
    return result.stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** An interactive psql kept open: answers one query at a time on stdin. */
class InteractivePsql {
  private output = '';
  private readonly waiters: Array<() => void> = [];
  readonly child: ChildProcessWithoutNullStreams;

  constructor(conninfo: string) {
    this.child = spawn(clientBinary('psql'), ['-X', '-A', '-t', '-q', '-d', conninfo], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        LANG: 'C',
        PGSSLCERT: '/nonexistent/postgresql.crt',
        PGSSLKEY: '/nonexistent/postgresql.key',
      },
    });
    const onData = (chunk: Buffer) => {
      this.output += chunk.toString();
      for (const waiter of this.waiters.splice(0)) waiter();
    };
    this.child.stdout.on('data', onData);
    this.child.stderr.on('data', onData);
    this.child.once('exit', () => onData(Buffer.alloc(0)));
  }

  /** Sends `sql` and resolves with the first output line matching `pattern`. */
  async query(sql: string, pattern: RegExp): Promise<string> {
    this.child.stdin.write(`${sql}\n`);
    for (;;) {
      const found = this.output.split('\n').find((line) => pattern.test(line));
      if (found) return found;
      if (this.child.exitCode !== null) throw new Error(`psql exited: ${this.output}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end('\\q\n');
    await exited;
  }
}

describe('serve: the status page in a real headless Chromium', () => {
  let env: GatewayEnv;
  let adminPort: number;
  let psql: InteractivePsql | undefined;

  before(async () => {
    adminPort = await freePort();
    env = await startGatewayEnv({
      serveArgs: ['--admin-listen', `127.0.0.1:${adminPort}`],
      configFile: ({ pki }) => `ssl_ca_file = '${pki.caBundle}'\n`,
    });
  });
  after(async () => {
    await psql?.close();
    await env?.close();
  });

  it('shows the session psql opened, its TLS details and the backend pid', async (t) => {
    const alice = await env.pki.client('alice');
    const aliceDn = certificateNames(new X509Certificate(readFileSync(alice.cert))).subjectDn;
    psql = new InteractivePsql(
      env.conninfo(`sslcert=${alice.cert} sslkey=${alice.key} application_name=seen-in-chromium`),
    );
    const pid = (await psql.query('SELECT pg_backend_pid();', /^\d+$/)).trim();
    const url = `http://127.0.0.1:${adminPort}/`;

    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'/);

    const dom = await chromium(url, ['--dump-dom']);
    try {
      assert.match(dom, /<title>pgtunnel serve — status<\/title>/);
      const rows = dom.split('<tr>').filter((row) => row.includes('<td>seen-in-chromium</td>'));
      assert.equal(rows.length, 1, 'one row for the psql session');
      const row = rows[0] ?? '';
      assert.ok(row.includes('<td>TLSv1.3</td>'), row);
      assert.ok(row.includes(`<td>${aliceDn}</td>`), row);
      assert.ok(row.includes(`<td>${pid}</td>`), `backend pid ${pid}: ${row}`);
      assert.ok(row.includes('<td>yes</td>'), 'client certificate verified');
      // The breakdown by TLS version and cipher counts it.
      assert.match(
        dom,
        /<table id="tls-breakdown">[\s\S]*<td>TLSv1\.3<\/td><td>TLS_[A-Z0-9_]+<\/td><td>1<\/td>/,
      );
      // Certificate expiry: the served certificate with its days left, and the CAs.
      assert.match(
        dom,
        /<table id="certificates">[\s\S]*<td>served<\/td><td>CN=localhost[^<]*<\/td>/,
      );
      assert.match(dom, /<svg id="refusal-chart"/);
      assert.match(dom, /<meta http-equiv="refresh" content="\d+">/);
      assert.doesNotMatch(dom, /<script/);
    } catch (error) {
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      const file = join(SCREENSHOT_DIR, 'status-page-failure.png');
      await chromium(url, [`--screenshot=${file}`]).catch(() => {});
      t.diagnostic(`screenshot of the failing page: ${file}`);
      throw error;
    }
  });
});
