// Rules for what a login reads: settings, pg_hba.conf rules, MD5 password hashes and the
// sessions open without TLS. Pure.
import type { HbaRuleRow, TargetFacts } from './facts.js';
import type { Finding } from './findings.js';
import { HOSTSSL_FIX } from './rules-authentication.js';

const TCP_TYPES = new Set(['host', 'hostssl', 'hostnossl', 'hostgssenc', 'hostnogssenc']);

/** `10.0.0.0` + `255.0.0.0` → `10.0.0.0/8`, as the rule was most likely written. */
export function cidr(address: string, netmask: string | null): string {
  if (!netmask) return address;
  const parts = netmask.includes(':')
    ? netmask.split(':').map((group) =>
        Number.parseInt(group || '0', 16)
          .toString(2)
          .padStart(16, '0'),
      )
    : netmask.split('.').map((octet) => Number(octet).toString(2).padStart(8, '0'));
  const bits = parts.join('');
  const prefix = bits.indexOf('0') === -1 ? bits.length : bits.indexOf('0');
  return /^1*0*$/.test(bits) ? `${address}/${prefix}` : `${address} ${netmask}`;
}

function ruleText(rule: HbaRuleRow): string {
  const address = rule.address ? ` ${cidr(rule.address, rule.netmask)}` : '';
  return `line ${rule.lineNumber}: ${rule.type} ${rule.database.join(',')} ${rule.userName.join(',')}${address} ${rule.authMethod}`;
}

export function hbaRules(facts: TargetFacts): Finding[] {
  const db = facts.database;
  if (!db?.login.ok) return [];
  // Not readable with this login: the settings section says why (a `not-read` note).
  if (!db.hbaRules) return [];
  const out: Finding[] = [];
  for (const rule of db.hbaRules) {
    if (rule.error) {
      out.push({
        id: 'hba-error',
        category: 'pg_hba',
        severity: 'fail',
        title: `pg_hba.conf line ${rule.lineNumber} has an error: ${rule.error}`,
        why: 'PostgreSQL refuses to reload a pg_hba.conf with errors: the rules in force are not the ones in the file',
        fix: `correct pg_hba.conf line ${rule.lineNumber}, then SELECT pg_reload_conf()`,
      });
      continue;
    }
    if (!TCP_TYPES.has(rule.type) || rule.authMethod === 'reject') continue;
    const line = ruleText(rule);
    if (rule.authMethod === 'trust') {
      out.push({
        id: 'hba-trust-tcp',
        category: 'pg_hba',
        severity: 'fail',
        title: `trust over TCP: ${line}`,
        why: 'anyone who can reach the port logs in as any user it names, with no password',
        fix: `pg_hba.conf line ${rule.lineNumber}: replace trust with scram-sha-256 (or cert)`,
      });
    }
    if (rule.type === 'host' || rule.type === 'hostnossl') {
      out.push({
        id: 'hba-without-tls',
        category: 'pg_hba',
        severity: rule.type === 'hostnossl' ? 'fail' : 'warn',
        title: `${rule.type === 'hostnossl' ? 'sessions without TLS allowed' : 'sessions without TLS not excluded'}: ${line}`,
        why: 'a client with sslmode=prefer/allow, or anyone stripping TLS, gets a plaintext session',
        fix: `pg_hba.conf line ${rule.lineNumber}: ${rule.type === 'hostnossl' ? 'end the line with reject' : 'write hostssl instead of host'}`,
      });
    }
    if (rule.authMethod === 'md5' || rule.authMethod === 'password') {
      out.push({
        id: 'hba-weak-password-method',
        category: 'pg_hba',
        severity: 'warn',
        title: `${rule.authMethod} over TCP: ${line}`,
        why:
          rule.authMethod === 'password'
            ? 'the password itself is sent to the server'
            : 'MD5 hashes are deprecated and replayable as passwords',
        fix: `pg_hba.conf line ${rule.lineNumber}: replace ${rule.authMethod} with scram-sha-256`,
      });
    }
  }
  if (out.length === 0)
    out.push({
      id: 'hba-ok',
      category: 'pg_hba',
      severity: 'ok',
      title: `${db.hbaRules.length} rules: TCP rules need TLS and a password or certificate`,
    });
  return out;
}

const VERSION_RANK: Record<string, number> = { TLSv1: 0, 'TLSv1.1': 1, 'TLSv1.2': 2, 'TLSv1.3': 3 };

export function settingsRules(facts: TargetFacts): Finding[] {
  const db = facts.database;
  if (!db) return [];
  if (!db.login.ok && db.login.skipped) {
    return [
      {
        id: 'login',
        category: 'settings',
        severity: 'info',
        title: `not logged in: ${db.login.error}`,
      },
    ];
  }
  if (!db.login.ok) {
    return [
      {
        id: 'login',
        category: 'settings',
        severity: 'fail',
        title: `could not log in: ${db.login.error}`,
        why: 'the settings, pg_hba.conf rules, password hashes and sessions were not checked',
        fix: 'check user=, password= (or PGPASSWORD, ~/.pgpass) and dbname= of the target, or leave out the user to check the network side only',
      },
    ];
  }
  const s = db.settings;
  const out: Finding[] = [
    {
      id: 'login',
      category: 'settings',
      severity: 'info',
      title: `logged in as "${db.login.user}"${db.login.superuser ? ' (superuser)' : ''}, server ${db.login.serverVersion}`,
    },
  ];
  if (s.ssl === 'off') {
    out.push({
      id: 'setting-ssl',
      category: 'settings',
      severity: 'fail',
      title: 'ssl = off',
      why: 'the server cannot encrypt any session',
      fix: 'postgresql.conf: ssl = on (with ssl_cert_file and ssl_key_file), then SELECT pg_reload_conf()',
    });
  } else if (s.ssl === 'on') {
    out.push({ id: 'setting-ssl', category: 'settings', severity: 'ok', title: 'ssl = on' });
  }
  const min = s.ssl_min_protocol_version;
  if (min !== undefined) {
    const rank = VERSION_RANK[min] ?? 2;
    out.push(
      rank < 2
        ? {
            id: 'setting-ssl-min-protocol-version',
            category: 'settings',
            severity: 'fail',
            title: `ssl_min_protocol_version = '${min}'`,
            why: 'TLS 1.0 and 1.1 are deprecated (RFC 8996)',
            fix: "postgresql.conf: ssl_min_protocol_version = 'TLSv1.2'",
          }
        : {
            id: 'setting-ssl-min-protocol-version',
            category: 'settings',
            severity: 'ok',
            title: `ssl_min_protocol_version = '${min}'`,
          },
    );
  }
  if (s.ssl_ciphers !== undefined) {
    const weakTokens = s.ssl_ciphers
      .split(/[:, ]/)
      .filter((t) =>
        /^(ALL|COMPLEMENTOFALL|eNULL|NULL|aNULL|ADH|AECDH|RC4|3DES|DES|EXP|EXPORT|LOW)$|@SECLEVEL=0/.test(
          t,
        ),
      );
    out.push(
      weakTokens.length > 0
        ? {
            id: 'setting-ssl-ciphers',
            category: 'settings',
            severity: 'warn',
            title: `ssl_ciphers = '${s.ssl_ciphers}' enables weak suites (${weakTokens.join(', ')})`,
            why: 'weak suites let a man in the middle or a passive listener break sessions',
            fix: "postgresql.conf: ssl_ciphers = 'ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL'",
          }
        : {
            id: 'setting-ssl-ciphers',
            category: 'settings',
            severity: 'info',
            title: `ssl_ciphers = '${s.ssl_ciphers}'`,
          },
    );
  }
  if (s.ssl_prefer_server_ciphers === 'off') {
    out.push({
      id: 'setting-ssl-prefer-server-ciphers',
      category: 'settings',
      severity: 'warn',
      title: 'ssl_prefer_server_ciphers = off',
      why: 'clients pick the suite, possibly a weak one the server still allows',
      fix: 'postgresql.conf: ssl_prefer_server_ciphers = on',
    });
  }
  if (s.password_encryption !== undefined) {
    out.push(
      s.password_encryption === 'md5'
        ? {
            id: 'setting-password-encryption',
            category: 'settings',
            severity: 'warn',
            title: "password_encryption = 'md5'",
            why: 'new passwords are stored as MD5 hashes, which log in as the user if stolen',
            fix: "postgresql.conf: password_encryption = 'scram-sha-256', then set each password again",
          }
        : {
            id: 'setting-password-encryption',
            category: 'settings',
            severity: 'ok',
            title: `password_encryption = '${s.password_encryption}'`,
          },
    );
  }
  if (s.ssl_ca_file && !s.ssl_crl_file && !s.ssl_crl_dir) {
    out.push({
      id: 'setting-ssl-crl',
      category: 'settings',
      severity: 'info',
      title:
        'client certificates are accepted (ssl_ca_file) but no CRL is set (ssl_crl_file, ssl_crl_dir)',
      fix: "postgresql.conf: ssl_crl_file = 'root.crl' to be able to revoke a lost client certificate",
    });
  }
  for (const note of db.notes)
    out.push({ id: 'not-read', category: 'settings', severity: 'info', title: note });
  return out;
}

export function roleRules(facts: TargetFacts): Finding[] {
  const roles = facts.database?.md5Roles;
  if (!roles) return [];
  if (roles.length === 0)
    return [
      {
        id: 'md5-passwords',
        category: 'roles',
        severity: 'ok',
        title: 'no role has an MD5 password hash',
      },
    ];
  return [
    {
      id: 'md5-passwords',
      category: 'roles',
      severity: 'warn',
      title: `${roles.length} role${roles.length === 1 ? ' has' : 's have'} an MD5 password hash`,
      details: [roles.join(', ')],
      why: 'an MD5 hash is as good as the password for logging in, and such roles cannot use SCRAM',
      fix: "with password_encryption = 'scram-sha-256': ALTER ROLE name PASSWORD '…' (or \\password name in psql) for each",
    },
  ];
}

export function sessionRules(facts: TargetFacts): Finding[] {
  const sessions = facts.database?.sessions;
  if (!sessions) return [];
  const out: Finding[] = [];
  const plain = sessions.filter((s) => !s.ssl);
  const weak = sessions.filter((s) => s.ssl && (s.version === 'TLSv1' || s.version === 'TLSv1.1'));
  const describe = (s: (typeof sessions)[number]) =>
    `${s.count} × ${s.user ?? '?'}@${s.database ?? '?'} from ${s.clientAddr ?? '?'}${s.ssl ? ` (${s.version} ${s.cipher})` : ''}`;
  if (plain.length > 0) {
    out.push({
      id: 'sessions-without-tls',
      category: 'sessions',
      severity: 'warn',
      title: `${plain.reduce((n, s) => n + s.count, 0)} TCP session(s) open now without TLS`,
      details: plain.map(describe),
      why: 'these clients send queries, results and possibly passwords in clear',
      fix: `set sslmode=verify-full in those clients; then ${HOSTSSL_FIX}`,
    });
  }
  if (weak.length > 0) {
    out.push({
      id: 'sessions-weak-tls',
      category: 'sessions',
      severity: 'warn',
      title: 'sessions open now with TLS 1.0/1.1',
      details: weak.map(describe),
      why: 'those clients will break when the minimum version is raised; their sessions are weakly protected',
      fix: "upgrade those clients; then postgresql.conf: ssl_min_protocol_version = 'TLSv1.2'",
    });
  }
  const total = sessions.reduce((n, s) => n + s.count, 0);
  if (out.length === 0) {
    out.push({
      id: 'sessions-without-tls',
      category: 'sessions',
      severity: 'ok',
      title:
        total === 0
          ? 'no other TCP session is open now'
          : `all ${total} visible TCP sessions use TLS 1.2+`,
    });
  }
  return out;
}
