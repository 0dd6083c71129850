// pgtunnel as a library: SSH tunnels, client-side TLS tunnels and the gateway inside a Node.js
// process. Each returns the local host and port to give a PostgreSQL client, and close().
// Errors are PgTunnelError with a stable `code` (docs/errors.md). See docs/api.md.
export { ConfigError, type ErrorCode, ErrorCodes, PgTunnelError } from '../errors.js';
export type { Logger } from '../log.js';
export {
  type GatewayOptions,
  type GatewaySettings,
  type RunningGateway,
  startGateway,
} from './gateway.js';
export type { LocalEndpoint } from './local-endpoint.js';
export { openSshTunnel, type SshTunnel, type SshTunnelOptions } from './ssh.js';
export { openTlsTunnel, type TlsTunnelOptions } from './tls-tunnel.js';
