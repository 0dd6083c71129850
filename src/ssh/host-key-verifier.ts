// Checks the host key an SSH server presents against known_hosts (read fresh for every
// connection attempt), applies StrictHostKeyChecking, and appends keys accepted as new.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PgTunnelError } from '../errors.js';
import type { Logger } from '../log.js';
import {
  fingerprintSha256,
  keyBlobType,
  keyTypeLabel,
  preferredHostKeyAlgorithms,
} from './host-key.js';
import {
  checkHostKey,
  formatKnownHostsLine,
  type KnownHostsEntry,
  type KnownHostsFile,
  knownHostsName,
  knownKeyTypes,
  parseKnownHosts,
} from './known-hosts.js';
import type { HopPlan, HostKeyPolicy } from './tunnel-plan.js';

/** ssh's message when it connects to a host whose key changed (StrictHostKeyChecking no). */
export const PORT_FORWARDING_DISABLED =
  'Port forwarding is disabled to avoid man-in-the-middle attacks.';

/** A host-key check for one connection attempt to one host. */
export class HostKeyVerifier {
  /** Host-key algorithms to offer: those of key types already known for the host first. */
  readonly algorithms: string[];
  /** Why the key was refused, once verify() has returned false. */
  failure: PgTunnelError | undefined;
  /**
   * Set when the key changed but StrictHostKeyChecking is no: as ssh does, the connection is
   * made but nothing may be forwarded through it.
   */
  forwardingRefused: PgTunnelError | undefined;
  private readonly known: KnownHostsFile[];

  constructor(
    private readonly name: string,
    private readonly policy: HostKeyPolicy,
    private readonly log: Logger,
    /** Where the host is, for the ssh-keyscan line in the unknown-host hint. */
    private readonly address?: { host: string; port: number; via?: HopPlan | undefined },
  ) {
    this.known = policy.files.map((file) => readKnownHosts(file));
    for (const file of this.known) {
      for (const problem of file.problems) {
        log.warn(
          { file: problem.file, line: problem.line },
          `known_hosts line skipped: ${problem.message}`,
        );
      }
    }
    this.algorithms = preferredHostKeyAlgorithms(knownKeyTypes(this.known, name));
  }

  /** The ssh2 hostVerifier: true to continue, false to abort (see `failure`). */
  verify(key: Buffer): boolean {
    const keyType = keyBlobType(key) ?? 'unknown';
    const described = `${keyTypeLabel(keyType)} key ${fingerprintSha256(key)}`;
    const verdict = checkHostKey(this.known, this.name, keyType, key);
    const at = (entries: KnownHostsEntry[]) => entries.map((e) => `${e.file}:${e.line}`).join(', ');
    const removeHint = `ssh-keygen -R '${this.name}' -f ${this.policy.files[0] ?? '~/.ssh/known_hosts'}`;
    switch (verdict.kind) {
      case 'trusted':
        this.log.debug(
          { host: this.name, fingerprint: fingerprintSha256(key) },
          'host key trusted',
        );
        return true;
      case 'revoked':
        return this.refuse(
          `the host key of ${this.name} (${described}) is marked @revoked in ` +
            `${at([verdict.entry])}; refusing to connect`,
        );
      case 'changed':
      case 'other-types': {
        const message =
          verdict.kind === 'changed'
            ? `HOST KEY MISMATCH for ${this.name}: the server presented ${described}, but ` +
              `${at(verdict.entries)} lists a different ${keyTypeLabel(keyType)} key. `
            : `HOST KEY MISMATCH for ${this.name}: the server presented ${described}, but ` +
              `${at(verdict.entries)} knows it with ${[...new Set(verdict.entries.map((e) => keyTypeLabel(e.keyType)))].join('/')} ` +
              'keys only. ';
        if (this.policy.strict === 'no' && verdict.kind === 'other-types') {
          // ssh treats a key of a type not on file as a new key: with `no` it is added.
          this.log.warn(
            { host: this.name },
            `${message}Accepted as new: StrictHostKeyChecking is no`,
          );
          this.remember(key, described);
          return true;
        }
        if (this.policy.strict === 'no') {
          // ssh's words (sshconnect.c): connect, but forward nothing through a host that may be
          // an impostor. For a tool that only forwards, that means no tunnel.
          const offending = verdict.entries[0];
          this.log.error(
            { host: this.name, fingerprint: fingerprintSha256(key) },
            'WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! IT IS POSSIBLE THAT SOMEONE IS ' +
              'DOING SOMETHING NASTY! Someone could be eavesdropping on you right now ' +
              '(man-in-the-middle attack)! It is also possible that a host key has just been ' +
              `changed. The fingerprint for the ${keyTypeLabel(keyType)} key sent by the remote ` +
              `host is ${fingerprintSha256(key)}. Please contact your system administrator. ` +
              `Add correct host key in ${this.policy.files[0] ?? '~/.ssh/known_hosts'} to get rid of this message. ` +
              (offending
                ? `Offending ${keyTypeLabel(offending.keyType)} key in ${offending.file}:${offending.line}. `
                : '') +
              PORT_FORWARDING_DISABLED,
          );
          this.forwardingRefused = new PgTunnelError(
            'ERR_SSH_HOST_KEY',
            `${message}StrictHostKeyChecking is no, so the connection was made, but as ssh ` +
              `does: ${PORT_FORWARDING_DISABLED} If you know the host key was replaced, remove ` +
              `the old entry (${removeHint}) and connect again.`,
          );
          return true;
        }
        return this.refuse(
          `${message}Someone may be intercepting the connection (man-in-the-middle), or the ` +
            `host key was replaced. If you know it was replaced, remove the old entry ` +
            `(${removeHint}) and connect again.`,
        );
      }
      case 'unknown': {
        if (this.policy.strict === 'yes') {
          const ca =
            verdict.certAuthorities.length > 0
              ? ` (@cert-authority lines at ${at(verdict.certAuthorities)} match this host, but host certificates are not supported)`
              : '';
          return this.refuse(
            `the host key of ${this.name} is not known${ca}: the server presented ${described}. ` +
              `Check that fingerprint with the server's administrator, then run once with ` +
              `-o StrictHostKeyChecking=accept-new, or add it with: ${this.keyscanHint()}`,
          );
        }
        this.remember(key, described);
        return true;
      }
    }
  }

  /** The command that fetches the host's keys into the first known_hosts file. */
  private keyscanHint(): string {
    const file = this.policy.files[0] ?? '~/.ssh/known_hosts';
    if (!this.address) return `ssh-keyscan HOST >> ${file}`;
    const { host, port, via } = this.address;
    const scan = `ssh-keyscan -p ${port} ${host}`;
    // Behind a jump host the scan has to run where the host is reachable: on the jump host.
    const where = via ? `ssh -p ${via.port} ${via.user}@${via.host} ${scan}` : scan;
    const renamed =
      knownHostsName(host, port) === this.name
        ? ''
        : ` (then change the host name in the added lines to ${this.name}, the HostKeyAlias)`;
    return `${where} >> ${file}${renamed}`;
  }

  private refuse(message: string): false {
    this.failure = new PgTunnelError('ERR_SSH_HOST_KEY', message);
    return false;
  }

  private remember(key: Buffer, described: string): void {
    const file = this.policy.files[0];
    if (!file) return;
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const existing = existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
      const needsNewline = existing.length > 0 && existing.at(-1) !== 0x0a;
      const line = formatKnownHostsLine(this.name, key, { hash: this.policy.hash });
      appendFileSync(file, `${needsNewline ? '\n' : ''}${line}\n`, { mode: 0o600 });
      this.log.warn(
        { host: this.name, file },
        `permanently added ${described} for ${this.name} to ${file}`,
      );
    } catch (error) {
      this.log.warn(
        { host: this.name, file, error: (error as Error).message },
        `accepted ${described} for ${this.name} but could not add it to ${file}`,
      );
    }
  }
}

function readKnownHosts(file: string): KnownHostsFile {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new PgTunnelError(
        'ERR_SSH_HOST_KEY',
        `cannot read known_hosts file ${file}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  return parseKnownHosts(text, file);
}
