// What the demo prints once it listens: proof that a verify-full session works (made just now
// by the demo itself), which leg pg_stat_ssl describes, and the psql command, or how to get psql.
import type { DemoProbe } from './demo-probe.js';

export interface BannerFacts {
  addresses: string[];
  conninfo: string;
  version: string;
  probe: DemoProbe | Error;
  portNote: string | undefined;
  /** psql's path, or undefined when it is not installed. */
  psql: string | undefined;
  psqlHint: string;
}

export function demoBanner(facts: BannerFacts): string {
  const { probe } = facts;
  const lines = [
    '',
    `pgtunnel demo: a throwaway PostgreSQL ${facts.version} is running behind the gateway (${facts.addresses.join(', ')}).`,
  ];
  if (facts.portNote) lines.push(facts.portNote);
  lines.push('');
  if (probe instanceof Error) {
    lines.push(`Checking a connection through the gateway failed: ${probe.message}`);
  } else {
    lines.push(
      `Checked just now: a client connected through the gateway with sslmode=verify-full (${probe.protocol}${probe.cipher ? `, ${probe.cipher}` : ''});`,
      'the gateway\'s certificate was verified for the name "localhost" against the demo root CA.',
      `On the server, pg_stat_ssl shows ssl = ${probe.serverSideSsl ? 't' : 'f'} for that session: pg_stat_ssl describes the connection`,
      `PostgreSQL itself accepted, the gateway's own (${probe.serverSideSsl ? 'over TLS' : 'over a unix socket on this machine'}), not the client's.`,
      "The client's leg, the one that crosses the network, is TLS to the gateway: psql's \\conninfo shows it.",
    );
  }
  lines.push(
    '',
    'Connect with full certificate verification:',
    '',
    `  psql "${facts.conninfo}"`,
    '',
  );
  if (!facts.psql) lines.push(facts.psqlHint, '');
  lines.push('Press Ctrl-C to stop; the server, its data and the certificates are removed.', '');
  return lines.join('\n');
}
