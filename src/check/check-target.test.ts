import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkTargetsFrom } from './check-target.js';

const env = { HOME: '/nonexistent' };

describe('checkTargetsFrom', () => {
  it('reads a connection string with its TLS settings', () => {
    const [target] = checkTargetsFrom(
      'host=db.example.com port=6432 sslrootcert=/dev/null sslmode=verify-full',
      { env },
    );
    assert.deepEqual(target, {
      label: 'db.example.com:6432',
      address: 'db.example.com',
      port: 6432,
      names: ['db.example.com'],
      servername: 'db.example.com',
      sslrootcert: '/dev/null',
      sslnegotiation: 'postgres',
      sslmode: 'verify-full',
      dbname: 'postgres',
    });
  });

  it('a URI with several hosts gives one target each, with the user and password', () => {
    const targets = checkTargetsFrom('postgresql://app:secret@a.example,b.example:5433/appdb', {
      env,
    });
    assert.deepEqual(
      targets.map((t) => [t.label, t.user, t.password, t.dbname]),
      [
        ['a.example:5432', 'app', 'secret', 'appdb'],
        ['b.example:5433', 'app', 'secret', 'appdb'],
      ],
    );
  });

  it('PG* variables apply; hostaddr is dialled but the host name is verified', () => {
    const [target] = checkTargetsFrom('hostaddr=10.0.0.5', {
      env: {
        ...env,
        PGHOST: 'db.internal',
        PGPORT: '5999',
        PGUSER: 'monitor',
        PGPASSWORD: 'pw',
        PGSSLROOTCERT: '/dev/null',
      },
    });
    assert.equal(target?.address, '10.0.0.5');
    assert.equal(target?.label, 'db.internal:5999');
    assert.deepEqual(target?.names, ['db.internal']);
    assert.equal(target?.user, 'monitor');
    assert.equal(target?.password, 'pw');
    assert.equal(target?.sslrootcert, '/dev/null');
  });

  it('a bare host name is a target; extra names are checked too; no SNI for an IP address', () => {
    const [target] = checkTargetsFrom('127.0.0.1', { env, extraNames: ['db.example.com'] });
    assert.deepEqual(target?.names, ['127.0.0.1', 'db.example.com']);
    assert.equal(target?.servername, undefined);
    assert.equal(target?.user, undefined, 'no user given: the network checks only');
  });

  it('refuses unix sockets and bad connection strings as usage errors', () => {
    assert.throws(() => checkTargetsFrom('host=/var/run/postgresql', { env }), {
      code: 'ERR_USAGE',
      message: /names a unix socket \(\/var\/run\/postgresql\): there is no TLS to check/,
    });
    assert.throws(() => checkTargetsFrom('host=db sslmode=maybe', { env }), {
      code: 'ERR_USAGE',
      message: 'invalid target "host=db sslmode=maybe": invalid sslmode value: "maybe"',
    });
    assert.throws(() => checkTargetsFrom('host=db sslrootcert=/nonexistent/root.crt', { env }), {
      code: 'ERR_USAGE',
      message:
        'invalid target "host=db sslrootcert=/nonexistent/root.crt": sslrootcert "/nonexistent/root.crt": no such file',
    });
    assert.throws(
      () => checkTargetsFrom('service=nowhere', { env: { ...env, PGSYSCONFDIR: '/nonexistent' } }),
      {
        code: 'ERR_USAGE',
        message: /definition of service "nowhere" not found/,
      },
    );
  });
});
