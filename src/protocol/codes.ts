// PostgreSQL wire-protocol constants: special request codes, message type bytes and the
// SQLSTATEs pgtunnel sends. See https://www.postgresql.org/docs/current/protocol-message-formats.html
// and https://www.postgresql.org/docs/current/errcodes-appendix.html

/** Codes sent in place of a protocol version in the first packet. */
export const RequestCode = {
  SSL_REQUEST: 80877103, // 1234.5679
  GSSENC_REQUEST: 80877104, // 1234.5680
  CANCEL_REQUEST: 80877102, // 1234.5678
} as const;

/** Protocol 3.0 as a StartupMessage carries it (major << 16 | minor). */
export const PROTOCOL_3_0 = 3 << 16;

/** PostgreSQL's MAX_STARTUP_PACKET_LENGTH: longer first packets are refused. */
export const MAX_STARTUP_PACKET_LENGTH = 10_000;

/** Length of an SSLRequest / GSSENCRequest packet (length + code). */
export const SPECIAL_REQUEST_LENGTH = 8;

/** First byte of a TLS handshake record: a client doing direct TLS (PostgreSQL 17+). */
export const TLS_HANDSHAKE_RECORD = 0x16;

/** ALPN protocol name libpq uses for direct TLS. */
export const ALPN_POSTGRESQL = 'postgresql';

/** Backend message type bytes used by the gateway. */
export const BackendMessage = {
  Authentication: 0x52, // R
  BackendKeyData: 0x4b, // K
  ErrorResponse: 0x45, // E
  NoticeResponse: 0x4e, // N
  ParameterStatus: 0x53, // S
  ReadyForQuery: 0x5a, // Z
  NegotiateProtocolVersion: 0x76, // v
} as const;
export type BackendMessageType = (typeof BackendMessage)[keyof typeof BackendMessage];

/** Authentication request subtypes (the Int32 after 'R'). */
export const AuthRequest = {
  Ok: 0,
  CleartextPassword: 3,
  MD5Password: 5,
  SASL: 10,
  SASLContinue: 11,
  SASLFinal: 12,
} as const;

/** SQLSTATEs pgtunnel puts in ErrorResponses, named as in PostgreSQL's errcodes.txt. */
export const SqlState = {
  PROTOCOL_VIOLATION: '08P01',
  CONNECTION_FAILURE: '08006',
  SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION: '08001',
  SQLSERVER_REJECTED_ESTABLISHMENT_OF_SQLCONNECTION: '08004',
  INVALID_CATALOG_NAME: '3D000',
  INVALID_AUTHORIZATION_SPECIFICATION: '28000',
  INVALID_PASSWORD: '28P01',
  INSUFFICIENT_PRIVILEGE: '42501',
  SYNTAX_ERROR: '42601',
  UNDEFINED_OBJECT: '42704',
  CONFIG_FILE_ERROR: 'F0000',
  TOO_MANY_CONNECTIONS: '53300',
  FEATURE_NOT_SUPPORTED: '0A000',
  INVALID_PARAMETER_VALUE: '22023',
  CANNOT_CONNECT_NOW: '57P03',
  ADMIN_SHUTDOWN: '57P01',
  INTERNAL_ERROR: 'XX000',
} as const;
export type SqlStateCode = (typeof SqlState)[keyof typeof SqlState];
