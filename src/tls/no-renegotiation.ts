// Every server-side TLS context pgtunnel builds refuses client-initiated renegotiation, as
// PostgreSQL does (be-secure-openssl.c sets SSL_OP_NO_RENEGOTIATION). Without it Node accepts
// up to tls.CLIENT_RENEG_LIMIT (3) renegotiations per connection on TLS 1.2: a cheap way for a
// client to make the server repeat the expensive side of a handshake. With the option OpenSSL
// answers a renegotiation ClientHello with a no_renegotiation alert and the handshake stops.
import { constants } from 'node:crypto';

/** `secureOptions` bits for a server-side TLS context. */
export const SERVER_SECURE_OPTIONS: number = constants.SSL_OP_NO_RENEGOTIATION;
