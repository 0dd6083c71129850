// What the probes of `pgtunnel check` learned about one server: plain data, filled by the
// probes (thin I/O) and read by the rules (pure), so each side is tested on its own.

/** TLS protocol versions probed one by one, oldest first (Node's names). */
export const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

/** The answer to one question asked of the server; `detail` says why when it is not yes/no. */
export type Answer<T extends string> = { answer: T; detail?: string };

/** How the server answered the first packets of a session. */
export interface NegotiationFacts {
  /** `S` (will do TLS), `N` (will not), or `other` with the bytes it sent. */
  sslRequest: Answer<'S' | 'N' | 'other' | 'closed'>;
  gssEncRequest: Answer<'G' | 'N' | 'other' | 'closed'>;
  /** Direct TLS (PostgreSQL 17+) with ALPN `postgresql`. */
  directTlsAlpn: Answer<'accepted' | 'refused'>;
  /** Direct TLS without ALPN: PostgreSQL refuses it (protection against cross-protocol attacks). */
  directTlsNoAlpn: Answer<'accepted' | 'refused'>;
}

/** One certificate as the server sent it. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  /** Whole days until notAfter (negative once expired). */
  daysLeft: number;
  /** notAfter has passed. */
  expired: boolean;
  /** `rsa`, `ec`, `ed25519` … */
  keyType: string;
  /** Modulus length for RSA, curve size for EC. */
  keyBits?: number;
  curve?: string;
  signatureAlgorithm: string;
  isCa: boolean;
  selfSigned: boolean;
  /** The names a client can match: DNS and IP subjectAltNames, or the CN when there are none. */
  hostNames: string[];
}

export interface CertificateFacts {
  /** The chain in the order the server sent it (leaf first when in order). */
  chain: CertificateInfo[];
  /** Where the chain was read: `openssl` (exactly as sent) or `node` (as Node rebuilt it). */
  chainSource: 'openssl' | 'node';
  /** Each certificate signs the one before it. */
  inOrder: boolean;
  /** The last certificate sent is a root, or was issued by a root of the trust store. */
  complete: boolean;
  /** Verification of the chain against the trust store. */
  trust: { store: 'sslrootcert' | 'system'; trusted: boolean; error?: string };
  /** Host-name check (libpq's rules) for each name the client will use. */
  names: Array<{ name: string; problem?: string }>;
}

export interface ClientCertificateFacts {
  /** undefined when it could not be determined (openssl missing or failed). */
  requested?: boolean;
  caNames: string[];
  detail?: string;
}

export interface VersionScan {
  accepted: boolean;
  /** OpenSSL names of the cipher suites the server accepted with this version. */
  ciphers: string[];
  /** Why the version was not accepted (the handshake error). */
  detail?: string;
}

export interface TlsFacts {
  /** How TLS was reached for the scan. */
  via: 'sslrequest' | 'direct';
  versions: Record<TlsVersion, VersionScan>;
  /** Key exchange groups (curves and finite-field groups) the server agreed to use. */
  groups: Array<{ name: string; accepted: boolean }>;
  renegotiation: Answer<'refused' | 'allowed' | 'unknown'>;
  resumption: Answer<'resumed' | 'not-resumed' | 'unknown'>;
  certificate?: CertificateFacts;
  clientCertificate: ClientCertificateFacts;
}

/** The first answer to a StartupMessage. */
export type StartupAnswer =
  | {
      kind: 'authentication';
      method: 'ok' | 'cleartext' | 'md5' | 'sasl' | 'other';
      mechanisms?: string[];
    }
  | { kind: 'error'; sqlstate: string; message: string }
  | { kind: 'failed'; detail: string };

export interface AuthenticationFacts {
  /** The user the startup probes named. */
  user: string;
  /** Answer to a startup sent without TLS (undefined when the server cannot be reached in plaintext). */
  plaintext?: StartupAnswer;
  /** Answer to a startup sent over TLS. */
  overTls?: StartupAnswer;
}

export interface HbaRuleRow {
  lineNumber: number;
  type: string;
  database: string[];
  userName: string[];
  address: string | null;
  netmask: string | null;
  authMethod: string;
  error: string | null;
}

export interface SessionRow {
  user: string | null;
  database: string | null;
  clientAddr: string | null;
  ssl: boolean;
  version: string | null;
  cipher: string | null;
  count: number;
}

/** What a login could read; each part is undefined when the role may not read it. */
export interface DatabaseFacts {
  login:
    | { ok: true; user: string; superuser: boolean; serverVersion: string }
    /** `skipped`: the login was not attempted (e.g. a direct-TLS-only endpoint). */
    | { ok: false; error: string; skipped?: boolean };
  settings: Record<string, string | undefined>;
  hbaRules?: HbaRuleRow[];
  md5Roles?: string[];
  sessions?: SessionRow[];
  /** Why a part could not be read (e.g. permission denied). */
  notes: string[];
}

/** Everything known about one target. */
export interface TargetFacts {
  negotiation: NegotiationFacts;
  /** Undefined when TLS could not be reached at all. */
  tls?: TlsFacts;
  authentication: AuthenticationFacts;
  database?: DatabaseFacts;
}
