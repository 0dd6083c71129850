// From command line plus ssh_config to hops: precedence, jump chains, tokens, known_hosts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, PgTunnelError } from '../errors.js';
import { parseDestination, parseJumpList, parsePort } from './destination.js';
import { parseForwardSpec, privilegedPortWarning } from './forward-spec.js';
import { parseSshConfig } from './ssh-config.js';
import { parseSshOptions } from './ssh-options.js';
import { type PlanContext, planTunnel } from './tunnel-plan.js';

const context = (configText = ''): PlanContext => ({
  config: parseSshConfig(configText, 'cfg'),
  home: '/home/me',
  localUser: 'me',
  env: { SSH_AUTH_SOCK: '/tmp/agent.sock' },
});

describe('destination', () => {
  it('parses user@host, ssh:// URIs and jump lists', () => {
    assert.deepEqual(parseDestination('joe@foo.com'), {
      user: 'joe',
      host: 'foo.com',
      port: undefined,
    });
    assert.deepEqual(parseDestination('ssh://joe@[::1]:2222'), {
      user: 'joe',
      host: '::1',
      port: 2222,
    });
    assert.deepEqual(parseJumpList('a, joe@b:2200,[fe80::1]:22'), [
      { user: undefined, host: 'a', port: undefined },
      { user: 'joe', host: 'b', port: 2200 },
      { user: undefined, host: 'fe80::1', port: 22 },
    ]);
    assert.throws(() => parseJumpList('a:0'), /"0" is not a port number/);
    assert.throws(() => parseDestination('@host'), /user name before "@" is empty/);
    assert.throws(
      () => parsePort('abc', 'invalid -p'),
      /^PgTunnelError: invalid -p: "abc" is not a port number \(1-65535\)$/,
    );
  });
});

describe('forward-spec', () => {
  it('reads -L like ssh', () => {
    const spec = parseForwardSpec('63333:localhost:5432');
    // ssh's default bind address: localhost, listened on as 127.0.0.1 and ::1.
    assert.equal(spec.bindAddress, 'localhost');
    assert.equal(spec.bindPort, 63333);
    assert.equal(spec.host, 'localhost');
    assert.equal(spec.hostPort, 5432);
    assert.equal(parseForwardSpec('0.0.0.0:5433:db:5432').bindAddress, '0.0.0.0');
    assert.equal(parseForwardSpec('*:5433:db:5432').bindAddress, undefined);
    assert.equal(parseForwardSpec(':5433:db:5432').bindAddress, undefined);
    const v6 = parseForwardSpec('[::1]:5433:[fd00::5]:5432');
    assert.deepEqual([v6.bindAddress, v6.host], ['::1', 'fd00::5']);
    const slash = parseForwardSpec('::1/5433/fd00::5/5432');
    assert.deepEqual([slash.bindAddress, slash.bindPort, slash.host], ['::1', 5433, 'fd00::5']);
    assert.equal(parseForwardSpec('0:db:5432').bindPort, 0);
  });

  it('explains bad specs', () => {
    assert.throws(() => parseForwardSpec('5432'), /expected \[bind_address:\]port:host:hostport/);
    assert.throws(() => parseForwardSpec('5432:db:0'), /target port "0"/);
    assert.throws(() => parseForwardSpec('70000:db:5432'), /local port "70000"/);
    assert.throws(() => parseForwardSpec('5432:/run/pg.sock'), /unix socket is not supported/);
  });

  it('warns about privileged ports for non-root users only', () => {
    const low = parseForwardSpec('543:db:5432');
    assert.match(privilegedPortWarning(low, 1000) ?? '', /below 1024/);
    assert.equal(privilegedPortWarning(low, 0), undefined);
    assert.equal(privilegedPortWarning(parseForwardSpec('5433:db:5432'), 1000), undefined);
  });
});

describe('tunnel-plan', () => {
  it('uses ssh defaults for a bare destination', () => {
    const plan = planTunnel({ destination: 'foo.com' }, context());
    assert.equal(plan.hops.length, 1);
    const [hop] = plan.hops;
    assert.equal(hop?.host, 'foo.com');
    assert.equal(hop?.port, 22);
    assert.equal(hop?.user, 'me');
    assert.equal(hop?.hostKeyName, 'foo.com');
    assert.equal(hop?.agentSocket, '/tmp/agent.sock');
    assert.deepEqual(hop?.identityFiles[0], { path: '/home/me/.ssh/id_rsa', explicit: false });
    assert.deepEqual(hop?.hostKeys, {
      files: ['/home/me/.ssh/known_hosts', '/home/me/.ssh/known_hosts2'],
      strict: 'yes',
      hash: true,
    });
    assert.equal(plan.keepaliveIntervalMs, 15_000);
  });

  it('lets the command line win over ssh_config, and applies HostName, tokens and aliases', () => {
    const cfg =
      'Host db\n HostName db.example.com\n User cfguser\n Port 2222\n IdentityFile ~/.ssh/%r@%h\n HostKeyAlias dbkey\n';
    const plan = planTunnel(
      {
        destination: 'db',
        port: 2200,
        identityFiles: ['/keys/cli'],
        options: [
          'StrictHostKeyChecking=accept-new',
          'ServerAliveInterval 5',
          'IdentitiesOnly=yes',
        ],
      },
      context(cfg),
    );
    const [hop] = plan.hops;
    assert.equal(hop?.host, 'db.example.com');
    assert.equal(hop?.port, 2200);
    assert.equal(hop?.user, 'cfguser');
    assert.equal(hop?.hostKeyName, '[dbkey]:2200');
    assert.equal(hop?.agentSocket, undefined);
    assert.deepEqual(
      hop?.identityFiles.map((f) => f.path),
      ['/keys/cli', '/home/me/.ssh/cfguser@db.example.com'],
    );
    assert.equal(hop?.hostKeys.strict, 'accept-new');
    assert.equal(plan.keepaliveIntervalMs, 5000);
  });

  it('builds jump chains from -J and from ProxyJump, recursively for the first hop', () => {
    const cfg = [
      'Host target',
      '  ProxyJump b',
      'Host b',
      '  HostName b.example.com',
      '  ProxyJump a',
      '  User bob',
      'Host a',
      '  Port 2201',
      '  ProxyJump none',
    ].join('\n');
    const viaConfig = planTunnel({ destination: 'joe@target' }, context(cfg));
    assert.deepEqual(
      viaConfig.hops.map((h) => `${h.user}@${h.host}:${h.port}`),
      ['me@a:2201', 'bob@b.example.com:22', 'joe@target:22'],
    );
    const viaFlag = planTunnel(
      { destination: 'target', jump: 'x@b,y@c:2022', port: 5022 },
      context(cfg),
    );
    assert.deepEqual(
      viaFlag.hops.map((h) => `${h.user}@${h.host}:${h.port}`),
      ['me@a:2201', 'x@b.example.com:22', 'y@c:2022', 'me@target:5022'],
    );
  });

  it("checks each hop's host key with that hop's own settings", () => {
    const cfg = [
      'Host db',
      '  StrictHostKeyChecking no',
      '  UserKnownHostsFile ~/kh_db',
      'Host bastion',
      '  HashKnownHosts no',
    ].join('\n');
    const plan = planTunnel({ destination: 'db', jump: 'bastion' }, context(cfg));
    assert.deepEqual(
      plan.hops.map((h) => [h.alias, h.hostKeys]),
      [
        [
          'bastion',
          {
            files: ['/home/me/.ssh/known_hosts', '/home/me/.ssh/known_hosts2'],
            strict: 'yes',
            hash: false,
          },
        ],
        ['db', { files: ['/home/me/kh_db'], strict: 'no', hash: true }],
      ],
    );
    // -o and --known-hosts apply to every hop.
    const everyHop = planTunnel(
      {
        destination: 'db',
        jump: 'bastion',
        knownHostsFile: '/kh',
        options: ['StrictHostKeyChecking=accept-new'],
      },
      context(cfg),
    );
    assert.deepEqual(
      everyHop.hops.map((h) => [h.hostKeys.strict, h.hostKeys.files]),
      [
        ['accept-new', ['/kh']],
        ['accept-new', ['/kh']],
      ],
    );
  });

  it('refuses an empty -J instead of going direct', () => {
    assert.throws(
      () => planTunnel({ destination: 't', jump: '' }, context()),
      (e: unknown) =>
        e instanceof PgTunnelError &&
        e.code === 'ERR_USAGE' &&
        e.message === 'the jump host list (-J or ProxyJump) is empty',
    );
  });

  it('puts -o options about the destination on the destination only', () => {
    const plan = planTunnel(
      { destination: 't', jump: 'j', options: ['User=root', 'Port=2022'] },
      context(),
    );
    assert.deepEqual(
      plan.hops.map((h) => `${h.user}@${h.host}:${h.port}`),
      ['me@j:22', 'root@t:2022'],
    );
    assert.throws(
      () => parseSshOptions(['Ciphers=aes128-ctr']),
      (e: unknown) => e instanceof PgTunnelError && /-o Ciphers is not supported/.test(e.message),
    );
    assert.deepEqual(parseSshOptions(['ExitOnForwardFailure=yes']), {
      destination: [],
      allHops: [],
    });
  });

  it('refuses ProxyCommand, loops and bad StrictHostKeyChecking values, naming where', () => {
    assert.throws(
      () => planTunnel({ destination: 'x' }, context('Host x\n ProxyCommand nc %h %p\n')),
      (e: unknown) =>
        e instanceof ConfigError && /^cfg:2: ProxyCommand is not supported/.test(e.message),
    );
    assert.throws(
      () =>
        planTunnel({ destination: 'x' }, context('Host x\n ProxyJump y\nHost y\n ProxyJump x\n')),
      /longer than 8 hops/,
    );
    assert.throws(
      () => planTunnel({ destination: 'x', options: ['StrictHostKeyChecking=maybe'] }, context()),
      /-o StrictHostKeyChecking=maybe: StrictHostKeyChecking must be yes, accept-new or no/,
    );
  });

  it('uses --known-hosts alone, or UserKnownHostsFile', () => {
    const flag = planTunnel({ destination: 'x', knownHostsFile: '~/kh' }, context());
    assert.deepEqual(flag.hops[0]?.hostKeys.files, ['/home/me/kh']);
    const cfg = planTunnel({ destination: 'x' }, context('UserKnownHostsFile ~/a /etc/%u_b\n'));
    assert.deepEqual(cfg.hops[0]?.hostKeys.files, ['/home/me/a', '/etc/me_b']);
  });
});
