// systemd socket activation (sd_listen_fds(3)): listening sockets inherited from fd 3 onwards,
// announced by LISTEN_FDS and LISTEN_PID (and optionally named by LISTEN_FDNAMES).
import { ConfigError } from '../errors.js';

/** sd_listen_fds()'s first descriptor. */
export const SD_LISTEN_FDS_START = 3;

export interface ActivatedSocket {
  fd: number;
  /** From LISTEN_FDNAMES (the unit's FileDescriptorName=), or "unknown" as systemd says. */
  name: string;
}

/**
 * The sockets systemd passed to this process, or [] when it passed none. As sd_listen_fds()
 * does, the variables only count when LISTEN_PID names this process: without it, or with an
 * ancestor's PID, LISTEN_FDS was inherited and fd 3 may be anything.
 */
export function activatedSockets(
  env: NodeJS.ProcessEnv = process.env,
  pid: number = process.pid,
): ActivatedSocket[] {
  if (env.LISTEN_PID === undefined || env.LISTEN_FDS === undefined) return [];
  if (!/^\d+$/.test(env.LISTEN_PID) || Number(env.LISTEN_PID) <= 0) {
    throw new ConfigError(
      'ERR_INHERITED_SOCKET',
      `LISTEN_PID="${env.LISTEN_PID}" is not a process ID (socket activation)`,
    );
  }
  if (Number(env.LISTEN_PID) !== pid) return [];
  if (!/^\d+$/.test(env.LISTEN_FDS)) {
    throw new ConfigError(
      'ERR_INHERITED_SOCKET',
      `LISTEN_FDS="${env.LISTEN_FDS}" is not a number of file descriptors`,
    );
  }
  const count = Number(env.LISTEN_FDS);
  const names = env.LISTEN_FDNAMES ? env.LISTEN_FDNAMES.split(':') : [];
  const sockets: ActivatedSocket[] = [];
  for (let i = 0; i < count; i++) {
    sockets.push({ fd: SD_LISTEN_FDS_START + i, name: names[i] || 'unknown' });
  }
  return sockets;
}

/** sd_listen_fds(unset_environment=1): children must not inherit the sockets' announcement. */
export function forgetActivationEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
}
