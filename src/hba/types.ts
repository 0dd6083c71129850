// The parsed forms of pg_hba.conf and pg_ident.conf lines that matching and authorization use.
import type { IpAddress } from '../net/ip-address.js';
import type { AuthToken } from './tokenize.js';

/** A database or user token after parsing: `/regex` tokens carry their compiled expression. */
export interface NameToken extends AuthToken {
  /** Set when the token starts with `/` (quoted or not, as in PostgreSQL). */
  readonly regex?: RegExp;
}

/**
 * First column of a rule. `hostgssenc` rules never match (the gateway does no GSSAPI
 * encryption); `hostnogssenc` rules match any TCP connection, like `host`.
 */
export type ConnectionType =
  | 'local'
  | 'host'
  | 'hostssl'
  | 'hostnossl'
  | 'hostgssenc'
  | 'hostnogssenc';

/** Authentication methods the gateway can enforce. */
export type HbaMethod = 'trust' | 'reject' | 'password' | 'md5' | 'scram-sha-256' | 'cert';

/** The address column of a TCP rule. */
export type HbaAddress =
  | { readonly kind: 'all' }
  | { readonly kind: 'samehost' }
  | { readonly kind: 'samenet' }
  | {
      readonly kind: 'range';
      /** The network address as written (before masking). */
      readonly network: IpAddress;
      readonly mask: Uint8Array;
      /** The column(s) as written, for messages: `10.0.0.0/8` or `10.0.0.0 255.0.0.0`. */
      readonly text: string;
    };

/** One accepted pg_hba.conf line. */
export interface HbaRule {
  /** File the line is in (an included file keeps its own name). */
  readonly file: string;
  /** 1-based line number in `file` (first line of a continued line). */
  readonly line: number;
  /** The line as written (continuations joined), for log messages. */
  readonly rawLine: string;
  readonly connectionType: ConnectionType;
  readonly databases: readonly NameToken[];
  readonly users: readonly NameToken[];
  /** Undefined for `local` rules. */
  readonly address: HbaAddress | undefined;
  readonly method: HbaMethod;
  /** `cert` always implies `verify-full`, as in PostgreSQL. */
  readonly clientCert: 'off' | 'verify-ca' | 'verify-full';
  /** Which certificate field names the user: `CN` (default) or the RFC 2253 `DN`. */
  readonly clientName: 'CN' | 'DN';
  /** pg_ident.conf map for `cert` rules. */
  readonly map: string | undefined;
}

/** One accepted pg_ident.conf line: `MAPNAME SYSTEM-USERNAME PG-USERNAME`. */
export interface IdentLine {
  readonly file: string;
  readonly line: number;
  readonly mapName: string;
  readonly systemUser: NameToken;
  readonly pgUser: NameToken;
}

/** A loaded pg_ident.conf. */
export interface IdentMaps {
  /** The top-level file, for messages. */
  readonly file: string;
  readonly lines: readonly IdentLine[];
}

/** `file:line`, the location form used in every message about a line. */
export function ruleLocation(rule: { file: string; line: number }): string {
  return `${rule.file}:${rule.line}`;
}
