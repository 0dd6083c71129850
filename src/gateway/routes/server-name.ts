// TLS server names (SNI) as routes match them: case-insensitive, one trailing dot ignored, and
// a `*.` wildcard standing for exactly one leftmost label, as in certificates (RFC 6125 6.4.3).
// Pure.
import { isIP } from 'node:net';

const LABEL = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/;

/** The form names are compared in: lower case, without one trailing dot. */
export function normalizeServerName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * Checks a `server_name` pattern and returns it normalized; throws an Error saying what is
 * wrong (the caller adds file:line).
 */
export function parseServerNamePattern(pattern: string): string {
  const name = normalizeServerName(pattern.trim());
  if (name === '') throw new Error('a server name is empty');
  if (isIP(name) !== 0 || isIP(name.replace(/^\[|\]$/g, '')) !== 0) {
    throw new Error(
      `"${pattern}" is an IP address: clients send no server name for an address (route by database instead)`,
    );
  }
  const labels = name.split('.');
  labels.forEach((label, index) => {
    if (label === '*' && index === 0 && labels.length > 1) return;
    if (!LABEL.test(label)) {
      throw new Error(
        label.includes('*')
          ? `"${pattern}": a wildcard must be a whole leftmost label followed by a domain, as in "*.example.com"`
          : `"${pattern}" is not a valid server name`,
      );
    }
  });
  return name;
}

/** Whether normalized `name` matches normalized `pattern` (`*.` covers one label exactly). */
export function serverNameMatches(pattern: string, name: string): boolean {
  if (!pattern.startsWith('*.')) return pattern === name;
  const dot = name.indexOf('.');
  return dot > 0 && name.slice(dot) === pattern.slice(1);
}
