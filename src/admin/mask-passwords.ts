// Masks passwords in text that may quote a connection string, before it reaches /status, the
// status page or the admin console.

/**
 * Masks password values in text that may quote a connection string (an invalid `upstream`
 * value is echoed in its error message): `password=…`, `sslpassword='…'`, `user:…@` in URIs.
 */
export function maskPasswords(text: string): string {
  return text
    .replace(/(password\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s&"]+)/gi, '$1[redacted]')
    .replace(/(:\/\/[^/@\s:]*:)[^@\s/]*@/g, '$1[redacted]@');
}
