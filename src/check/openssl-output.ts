// Reads `openssl s_client -showcerts` output: the certificates exactly as the server sent
// them, and the client-certificate request (its CA names), which Node's TLS client does not
// expose. Pure: text in, values out.

export interface SClientReport {
  /** PEM certificates in the order the server sent them. */
  chain: string[];
  /** True when the server sent a CertificateRequest; undefined when the output says nothing. */
  certificateRequested?: boolean;
  /** Distinguished names from "Acceptable client certificate CA names", as OpenSSL prints them. */
  caNames: string[];
  /** The protocol line ("New, TLSv1.3, Cipher is …"), when the handshake completed. */
  handshakeCompleted: boolean;
}

export function parseSClientOutput(text: string): SClientReport {
  const lines = text.split(/\r?\n/);
  const chainStart = lines.indexOf('Certificate chain');
  const chain: string[] = [];
  if (chainStart !== -1) {
    let block: string[] | undefined;
    for (const line of lines.slice(chainStart + 1)) {
      if (line === '---') break;
      if (line === '-----BEGIN CERTIFICATE-----') block = [line];
      else if (block) {
        block.push(line);
        if (line === '-----END CERTIFICATE-----') {
          chain.push(`${block.join('\n')}\n`);
          block = undefined;
        }
      }
    }
  }
  const caNames: string[] = [];
  const caStart = lines.indexOf('Acceptable client certificate CA names');
  if (caStart !== -1) {
    for (const line of lines.slice(caStart + 1)) {
      if (line === '---' || /^(Requested|Client Certificate Types|Shared|Peer)/.test(line)) break;
      if (line.trim() !== '') caNames.push(line.trim());
    }
  }
  const requestSeen =
    caStart !== -1 ||
    lines.some(
      (line) =>
        line.startsWith('Requested Signature Algorithms:') ||
        line.startsWith('Client Certificate Types:'),
    );
  const noRequest = lines.includes('No client certificate CA names sent');
  const handshakeCompleted = lines.some(
    (line) => /^(New|Reused), (TLS|SSL)/.test(line) && !line.includes('(NONE)'),
  );
  const report: SClientReport = { chain, caNames, handshakeCompleted };
  if (requestSeen) report.certificateRequested = true;
  else if (noRequest && handshakeCompleted) report.certificateRequested = false;
  return report;
}
