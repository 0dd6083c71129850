// A certificate's subject and issuer as PostgreSQL sees them: the DN printed the way OpenSSL's
// X509_NAME_print_ex(XN_FLAG_RFC2253) prints it (what `clientname=DN` and pg_ident.conf maps
// match against), and the CN as X509_NAME_get_text_by_NID() returns it (raw, unescaped).
// node:crypto only offers a multi-line form with other escaping, so the names are read from
// the certificate's DER (with asn1js); attribute names still come from Node's text, which is
// OpenSSL's own table of short names.
import type { X509Certificate } from 'node:crypto';
import { type BaseBlock, fromBER, ObjectIdentifier } from 'asn1js';

/** The names of one certificate, in PostgreSQL's forms. */
export interface CertificateNames {
  /** Subject DN, RFC 2253 as OpenSSL prints it with XN_FLAG_RFC2253. */
  subjectDn: string;
  /** Issuer DN in the same form. */
  issuerDn: string;
  /** The first subject CN, unescaped; undefined when there is none. */
  cn: string | undefined;
  /** True when the CN holds a NUL byte, which PostgreSQL refuses (CVE-2009-4034). */
  cnHasNul: boolean;
}

const OID_COMMON_NAME = '2.5.4.3';

/** One AttributeTypeAndValue of a Name, with the index of the RDN (SET) it belongs to. */
interface NameEntry {
  readonly set: number;
  readonly oid: string;
  readonly tag: number;
  /** Content octets of the value. */
  readonly content: Buffer;
  /** The value's whole encoding (tag, length, content), for `#hex` dumps. */
  readonly encoded: Buffer;
}

/** Reads the subject and issuer of `certificate`; throws on a malformed encoding. */
export function certificateNames(certificate: X509Certificate): CertificateNames {
  const { issuer, subject } = readNames(certificate.raw);
  const cnEntry = subject.find((entry) => entry.oid === OID_COMMON_NAME);
  return {
    subjectDn: formatRfc2253(subject, attributeNames(certificate.subject)),
    issuerDn: formatRfc2253(issuer, attributeNames(certificate.issuer)),
    cn: cnEntry?.content.toString('utf8'),
    cnHasNul: cnEntry?.content.includes(0) ?? false,
  };
}

/**
 * The attribute names in node's multi-line form (`C=FR\nO=Acme\nOU=a + UID=b`), in order.
 * Values there have `+` escaped, so ` + ` only ever separates members of one RDN.
 */
export function attributeNames(multiline: string): string[] {
  return multiline
    .split('\n')
    .flatMap((rdn) => rdn.split(' + '))
    .map((entry) => entry.slice(0, entry.indexOf('=')));
}

/**
 * do_name_ex() with XN_FLAG_RFC2253: entries in reverse order, `,` between RDNs and `+` inside
 * one, short names (or the dotted OID with a `#hex` DER value when OpenSSL has no name for it).
 * `names` are OpenSSL's names for the entries; when they do not line up, dotted OIDs are used.
 */
export function formatRfc2253(entries: readonly NameEntry[], names: readonly string[]): string {
  const usable = names.length === entries.length;
  let out = '';
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i] as NameEntry;
    if (i < entries.length - 1) out += (entries[i + 1] as NameEntry).set === entry.set ? '+' : ',';
    const name = usable ? (names[i] as string) : entry.oid;
    const unknown = name === entry.oid;
    out += `${name}=${unknown ? dumpHex(entry.encoded) : formatValue(entry)}`;
  }
  return out;
}

/** Bytes per character of each string type (OpenSSL's tag2nbyte); others are dumped as hex. */
const CHARACTER_WIDTH: Readonly<Record<number, 1 | 2 | 4 | 'utf8'>> = {
  12: 'utf8', // UTF8String
  18: 1, // NumericString
  19: 1, // PrintableString
  20: 1, // T61String
  22: 1, // IA5String
  23: 1, // UTCTime
  24: 1, // GeneralizedTime
  26: 1, // VisibleString
  28: 4, // UniversalString
  30: 2, // BMPString
};

/** do_print_ex() with ASN1_STRFLGS_RFC2253: characters as UTF-8, escaped byte by byte. */
function formatValue(entry: NameEntry): string {
  const width = CHARACTER_WIDTH[entry.tag];
  if (width === undefined) return dumpHex(entry.encoded);
  // UTF-8 text is taken a byte at a time (already UTF-8); the others are converted to it.
  const units: Buffer[] = [];
  if (width === 'utf8') {
    for (const byte of entry.content) units.push(Buffer.of(byte));
  } else {
    if (entry.content.length % width !== 0) return dumpHex(entry.encoded);
    for (let at = 0; at < entry.content.length; at += width) {
      const unit = utf8Encode(entry.content.readUIntBE(at, width));
      if (!unit) return dumpHex(entry.encoded);
      units.push(unit);
    }
  }
  let out = '';
  units.forEach((unit, index) => {
    // OpenSSL marks the last character after the first, so a one-character value is "last".
    const position = index === units.length - 1 ? 'last' : index === 0 ? 'first' : 'middle';
    for (const byte of unit) out += escapeByte(byte, position);
  });
  return out;
}

/**
 * UTF8_putc(): encodes any code point, surrogates included, as OpenSSL does (TextEncoder would
 * replace a lone surrogate). Undefined beyond 21 bits, where the value is dumped instead.
 */
function utf8Encode(code: number): Buffer | undefined {
  if (code < 0x80) return Buffer.of(code);
  if (code < 0x800) return Buffer.of(0xc0 | (code >> 6), 0x80 | (code & 0x3f));
  if (code < 0x10000) {
    return Buffer.of(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
  }
  if (code < 0x200000) {
    return Buffer.of(
      0xf0 | (code >> 18),
      0x80 | ((code >> 12) & 0x3f),
      0x80 | ((code >> 6) & 0x3f),
      0x80 | (code & 0x3f),
    );
  }
  return undefined;
}

/** do_esc_char() for ESC_2253 | ESC_CTRL | ESC_MSB. */
function escapeByte(byte: number, position: 'first' | 'middle' | 'last'): string {
  const char = String.fromCharCode(byte);
  if (',+"\\<>;'.includes(char)) return `\\${char}`;
  if (char === ' ' && position !== 'middle') return '\\ ';
  if (char === '#' && position === 'first') return '\\#';
  if (byte < 0x20 || byte >= 0x7f) return `\\${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return char;
}

function dumpHex(encoded: Buffer): string {
  return `#${encoded.toString('hex').toUpperCase()}`;
}

/** The issuer and subject Names of a DER certificate (RFC 5280 section 4.1). */
export function readNames(der: Buffer): { issuer: NameEntry[]; subject: NameEntry[] } {
  const parsed = fromBER(der);
  if (parsed.offset === -1) throw new Error(`malformed certificate: ${parsed.result.error}`);
  const tbs = childrenOf(parsed.result)[0];
  if (!tbs) throw new Error('certificate has no TBSCertificate');
  const fields = childrenOf(tbs);
  // The version is an explicit [0] tag and may be absent (v1 certificates).
  const first = fields[0]?.idBlock.tagClass === CONTEXT_SPECIFIC ? 1 : 0;
  const issuer = fields[first + 2];
  const subject = fields[first + 4];
  if (!issuer || !subject) throw new Error('certificate has no issuer or subject');
  return { issuer: readName(issuer), subject: readName(subject) };
}

const CONTEXT_SPECIFIC = 3;

function readName(name: BaseBlock): NameEntry[] {
  const entries: NameEntry[] = [];
  childrenOf(name).forEach((rdn, set) => {
    for (const attribute of childrenOf(rdn)) {
      const [type, value] = childrenOf(attribute);
      if (!(type instanceof ObjectIdentifier) || !value)
        throw new Error('malformed name attribute');
      // The value's bytes exactly as they stand in the certificate, not re-encoded.
      const encoded = Buffer.from(value.valueBeforeDecodeView);
      entries.push({
        set,
        oid: type.getValue(),
        tag: value.idBlock.tagNumber,
        content: encoded.subarray(encoded.length - value.lenBlock.length),
        encoded,
      });
    }
  });
  return entries;
}

function childrenOf(block: BaseBlock): BaseBlock[] {
  const value = (block.valueBlock as { value?: unknown }).value;
  if (!Array.isArray(value))
    throw new Error('malformed certificate: expected a constructed element');
  return value as BaseBlock[];
}
