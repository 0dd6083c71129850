// Public-key authentication the way ssh does it: keys held by ssh-agent first, then identity
// files in order. Records what was tried so a failure can say so; never logs key material.
import { existsSync, readFileSync } from 'node:fs';
import type { AnyAuthMethod, AuthenticationType, AuthHandlerMiddleware, ParsedKey } from 'ssh2';
import ssh2 from 'ssh2';
import { fingerprintSha256, keyTypeLabel } from './host-key.js';
import type { HopPlan } from './tunnel-plan.js';

/** What happened during one authentication, for error messages. */
export interface AuthReport {
  /** Methods the server said it accepts (from its first "none" refusal). */
  serverMethods: AuthenticationType[];
  /** Human-readable list of what was offered, in order. */
  tried: string[];
  /** Why a configured source could not be used (missing file, encrypted key, agent error). */
  notes: string[];
  /** The method last offered: once the server accepts, the one that authenticated. */
  current?: string;
}

/** An ssh2 authHandler for one hop, plus the report it fills in. */
export function createAuthHandler(
  hop: HopPlan,
  home: string,
): {
  handler: AuthHandlerMiddleware;
  report: AuthReport;
} {
  const report: AuthReport = { serverMethods: [], tried: [], notes: [] };
  const display = (path: string) =>
    path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
  const queue: Array<() => AnyAuthMethod | undefined> = [];
  const username = hop.user;

  // "none" first: it tells us which methods the server accepts.
  queue.push(() => ({ type: 'none', username }));
  if (hop.agentSocket) {
    const socket = hop.agentSocket;
    queue.push(() => {
      if (!existsSync(socket)) {
        report.notes.push(`ssh-agent socket ${socket} does not exist`);
        return undefined;
      }
      report.tried.push(`keys in ssh-agent (${socket})`);
      report.current = `a key held by ssh-agent (${socket})`;
      return { type: 'agent', username, agent: socket };
    });
  }
  for (const identity of hop.identityFiles) {
    queue.push(() => {
      const key = readIdentity(identity.path, identity.explicit, display(identity.path), report);
      if (!key) return undefined;
      report.tried.push(`key ${display(identity.path)}`);
      report.current =
        `key ${display(identity.path)} ${keyTypeLabel(key.type)} ` +
        fingerprintSha256(key.getPublicSSH());
      return { type: 'publickey', username, key };
    });
  }

  const handler: AuthHandlerMiddleware = (authsLeft, _partialSuccess, next) => {
    if (authsLeft && report.serverMethods.length === 0) report.serverMethods = [...authsLeft];
    while (queue.length > 0) {
      const method = queue.shift()?.();
      if (!method) continue;
      if (
        method.type !== 'none' &&
        authsLeft &&
        !authsLeft.includes(method.type === 'agent' ? 'publickey' : method.type)
      ) {
        continue;
      }
      next(method);
      return;
    }
    if (report.tried.length === 0) {
      if (!hop.agentSocket) report.notes.push('no ssh-agent (SSH_AUTH_SOCK is not set)');
      if (hop.identityFiles.every((f) => !f.explicit)) {
        report.notes.push(
          `none of the default key files exist (${hop.identityFiles.map((f) => display(f.path)).join(', ')})`,
        );
      }
    }
    // ssh2 takes `false` for "no more methods"; its typings omit it.
    (next as unknown as (method: false) => void)(false);
  };
  return { handler, report };
}

function readIdentity(
  path: string,
  explicit: boolean,
  shown: string,
  report: AuthReport,
): ParsedKey | undefined {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (error) {
    // ssh is silent about missing default keys but mentions named ones.
    if (explicit)
      report.notes.push(
        `identity file ${shown}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      );
    return undefined;
  }
  const parsed = ssh2.utils.parseKey(data);
  if (parsed instanceof Error) {
    const encrypted = /encrypted|passphrase/i.test(parsed.message);
    report.notes.push(
      encrypted
        ? `identity file ${shown} is passphrase-protected: add it to ssh-agent (ssh-add ${shown})`
        : `identity file ${shown} is not a private key pgtunnel can read (${parsed.message})`,
    );
    return undefined;
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key?.isPrivateKey()) {
    report.notes.push(`identity file ${shown} holds no private key`);
    return undefined;
  }
  return key;
}
