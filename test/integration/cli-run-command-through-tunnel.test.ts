// `pgtunnel ssh … -- psql …` and `pgtunnel connect … -- pg_dump …`: the command reaches
// PostgreSQL through the tunnel by PGHOST/PGPORT alone, its exit status (success or failure)
// is pgtunnel's, and pgtunnel exits (the tunnel closed) when the command ends.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientBinary } from '../../src/demo/postgres-binaries.js';
import { cliArgs, PROJECT_ROOT } from '../helpers/pgtunnel-process.js';
import { run } from '../helpers/run.js';
import { runTunnelCli, type SshScene, startSshScene } from '../helpers/sshd.js';

const psql = clientBinary('psql');
const pgDump = join(psql, '..', 'pg_dump');

describe('running a command through a tunnel', () => {
  let scene: SshScene;
  before(async () => {
    scene = await startSshScene('run-through');
  });
  after(async () => {
    await scene?.stop();
  });
  const ssh = (command: string[]) =>
    runTunnelCli(
      [
        '-L',
        `0:127.0.0.1:${scene.cluster.port}`,
        '-p',
        String(scene.sshd.port),
        `${scene.sshd.user}@127.0.0.1`,
        '--',
        ...command,
      ],
      { home: scene.home, env: { PGUSER: 'postgres', PGDATABASE: 'postgres' } },
    );

  it("ssh -- psql -c 'select 1' prints psql's result and exits with its status 0", async () => {
    const result = await ssh([psql, '-X', '-At', '-c', "select 1, current_setting('port')"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), `1|${scene.cluster.port}`);
  });

  it("passes psql's failure status through (and any other command's)", async () => {
    const stopped = await ssh([psql, '-X', '-v', 'ON_ERROR_STOP=1', '-c', 'select 1/0']);
    assert.equal(stopped.code, 1, stopped.stderr);
    assert.match(stopped.stderr, /division by zero/);
    const viaShell = await ssh(['sh', '-c', 'exit 7']);
    assert.equal(viaShell.code, 7);
    const missing = await ssh(['pgtunnel-no-such-command']);
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /could not run "pgtunnel-no-such-command"/);
  });

  it('connect -- pg_dump: PGHOST/PGPORT/PGSSLMODE=disable reach the local endpoint', async () => {
    const result = await run(
      process.execPath,
      cliArgs([
        'connect',
        `host=127.0.0.1 port=${scene.cluster.port} sslmode=prefer`,
        '--',
        pgDump,
        '--schema-only',
        '-U',
        'postgres',
        'postgres',
      ]),
      { cwd: PROJECT_ROOT },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /PostgreSQL database dump complete/);
    const env = await run(
      process.execPath,
      cliArgs([
        'connect',
        `host=127.0.0.1 port=${scene.cluster.port}`,
        '--',
        'sh',
        '-c',
        'echo "$PGHOST $PGSSLMODE"; exit 4',
      ]),
      { cwd: PROJECT_ROOT },
    );
    assert.equal(env.code, 4);
    assert.equal(env.stdout.trim(), '127.0.0.1 disable');
  });
});
