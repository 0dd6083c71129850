// Checks tls-server-end-point data against hashes computed with `openssl x509 -outform DER |
// openssl dgst` for self-signed certificates of each signature algorithm (public test
// certificates, generated once with `openssl req -x509`; their keys were discarded).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { certificateSignatureOid, tlsServerEndPoint } from './channel-binding.js';

interface Case {
  name: string;
  oid: string;
  /** openssl's digest of the DER bytes with the hash RFC 5929 picks; undefined: no binding. */
  expected: string | undefined;
  pem: string;
}

const CASES: Case[] = [
  {
    name: 'ecdsa-sha256',
    oid: '1.2.840.10045.4.3.2',
    expected: '5af12b6f65dd237eeeca4e9ba81c21c841f1817d8c5f98a243080740f171df93',
    pem: `-----BEGIN CERTIFICATE-----
MIIBhTCCASugAwIBAgIUekSJzm4z1nWMLFSbzh0OS1golhkwCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMZWNkc2Etc2hhMjU2MCAXDTI2MTEyMzExMjAyN1oYDzIxMjYx
MDMwMTEyMDI3WjAXMRUwEwYDVQQDDAxlY2RzYS1zaGEyNTYwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAASaem9qtIagkXLG5CUbkWwb5dGrP5NJcr0sC0FuYU/cV1+b
tYii2RNm2gZH7SUZDUQ96CAxjFnNr2/vgAqFjXjLo1MwUTAdBgNVHQ4EFgQU5Kms
lNgYktq/4GMhDFRVPX/kRuswHwYDVR0jBBgwFoAU5KmslNgYktq/4GMhDFRVPX/k
RuswDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEA3gugH91hsAf9
4RfcwF5EgM3cvP6J3atnOc5Aa1VS7HsCIEWjaNpCNSNWufNT4+AFXY4V2cJrqE1d
r0NEzICiimQt
-----END CERTIFICATE-----`,
  },
  {
    name: 'ecdsa-sha384',
    oid: '1.2.840.10045.4.3.3',
    expected:
      '3be3d755b837d07dda9a094abe8f0039148a25f50507db1888bd33d0ce3687a2a8db2c4032865d30db260f2764e00b88',
    pem: `-----BEGIN CERTIFICATE-----
MIIBwTCCAUigAwIBAgIUNRaMzjrydIbKNzyQn/IZFBlMEVkwCgYIKoZIzj0EAwMw
FzEVMBMGA1UEAwwMZWNkc2Etc2hhMzg0MCAXDTI2MTEyMzExMjAyN1oYDzIxMjYx
MDMwMTEyMDI3WjAXMRUwEwYDVQQDDAxlY2RzYS1zaGEzODQwdjAQBgcqhkjOPQIB
BgUrgQQAIgNiAASJ08TSqLL04iSdrGPGw0kPumxNlHCtgb8y5QpfFdOamdxhwSQ+
A6Sy/Ypy3qkXjFJTYZh0ay1hfCNJUPGLeH6cJhSKOnJPA/CXThFx11xoeFwCCaLP
7C8EVGIyPnUHbSajUzBRMB0GA1UdDgQWBBRLDvTtlO5JCzLd99HUNCkxaL9mujAf
BgNVHSMEGDAWgBRLDvTtlO5JCzLd99HUNCkxaL9mujAPBgNVHRMBAf8EBTADAQH/
MAoGCCqGSM49BAMDA2cAMGQCMD4MbUE0bEoOPE1NvX9FO/nP312+ZNF6yRwzb/s7
VHyLX0jiBpjObyUF7nu6+5r8OAIwSbvVKdcxEuJTYpKcufd7TtHEF+TEjkTK3iJL
J9XD4ZqLfRAAZQfNRK9ocfB7sLsm
-----END CERTIFICATE-----`,
  },
  {
    name: 'rsa-sha1',
    oid: '1.2.840.113549.1.1.5',
    expected: '21a2b42c5300f4723a0a9aafd8e1ad8b25b378a64a39ad25c652a8e42b98fdb4',
    pem: `-----BEGIN CERTIFICATE-----
MIICBDCCAW2gAwIBAgIURnbH2HlGHWw3lBmNvF6zznFad64wDQYJKoZIhvcNAQEF
BQAwEzERMA8GA1UEAwwIcnNhLXNoYTEwIBcNMjYxMTIzMTEyMDI3WhgPMjEyNjEw
MzAxMTIwMjdaMBMxETAPBgNVBAMMCHJzYS1zaGExMIGfMA0GCSqGSIb3DQEBAQUA
A4GNADCBiQKBgQCjp0xm/ZVlzWt84vPIg05MyXzv2NQ4B2jTECglOpCmTPlvfAdF
3SPX/XnfWAzBYrJKBZeFAVj+xX5PIRmjKXAGkCVG9ksM/FsAav4jnMA6VMMwckoB
aS/A801CQzIA3O0TeAqXxxHvJNzRoQ3Eqp3+AbggSRsh/xtS4YmwsQJ6UQIDAQAB
o1MwUTAdBgNVHQ4EFgQU39rOrnu13fATtbv4/4gOQJn7dIowHwYDVR0jBBgwFoAU
39rOrnu13fATtbv4/4gOQJn7dIowDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0B
AQUFAAOBgQAC84cLyTnxFB7nJvFdrap1r2Hi/dNAood97YaFTWp1JxuyzC7VtHjf
nLuA/LhLjpVpXSMMs23wc6Eb63A/rqb0w69YaeXzx4lL4RgCZYp6qPUH+0HKXlEC
ol/KoL5SXVkHxyA8C5bIiQnprOhVhof9TuUr6R8tgEbIdfDQQSVj1g==
-----END CERTIFICATE-----`,
  },
  {
    name: 'rsa-md5',
    oid: '1.2.840.113549.1.1.4',
    expected: 'a404a0bf067fa799b5cd1e114b0e380d758eebf9e14dc2b037878864c19b3101',
    pem: `-----BEGIN CERTIFICATE-----
MIICAjCCAWugAwIBAgIUEud2IMGq/5PsfdDXo1IBcsaAOiQwDQYJKoZIhvcNAQEE
BQAwEjEQMA4GA1UEAwwHcnNhLW1kNTAgFw0yNjExMjMxMTIwMjdaGA8yMTI2MTAz
MDExMjAyN1owEjEQMA4GA1UEAwwHcnNhLW1kNTCBnzANBgkqhkiG9w0BAQEFAAOB
jQAwgYkCgYEAydfBuTFg1KvV3u03wpZCFAKnSClgAwWDrfbBO3gd3gMRtX5oB1GR
rEW1TP/AApITwlBeEff+29pQl/AUevXHbSti5oH7FglAkdqUVJd5/eBTP+6XCpM4
af/lQW9C3IqC1+wzKvrh032TSlOSWdDh0cp00axRxjmt+IKChsKA95cCAwEAAaNT
MFEwHQYDVR0OBBYEFJFUR4RIfi2fVY+dx2fHXYeTKwreMB8GA1UdIwQYMBaAFJFU
R4RIfi2fVY+dx2fHXYeTKwreMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQEE
BQADgYEAiIj62qPgL30Hu85ZpDWL+iEDJd1FONCAxJV+b+ce1LyBxeqbP9Tn3P34
AZ5p24Ya/qSdnZ3Kd648md0uKQH2JjCoxiHb9035x6LJeOvz+sVNbil8uNUaw41R
3zo3M2ElvmeZGJVDvrS8y5Wp5uVP+y2nlNM7x8cuTh5xRnN7TxY=
-----END CERTIFICATE-----`,
  },
  {
    name: 'rsa-sha512',
    oid: '1.2.840.113549.1.1.13',
    expected:
      '9c89efbddf35f0b8f7e2dc3174f02eb6ac999a7080fc38dfa34e89c65d2389de437d114b4a6205b873c339e741fe852c7cd28cdca8c83dd4019663dbcf88c080',
    pem: `-----BEGIN CERTIFICATE-----
MIICCDCCAXGgAwIBAgIUUM20CX3QQi/8XCeW7qqtyXouNiYwDQYJKoZIhvcNAQEN
BQAwFTETMBEGA1UEAwwKcnNhLXNoYTUxMjAgFw0yNjExMjMxMTIwMjdaGA8yMTI2
MTAzMDExMjAyN1owFTETMBEGA1UEAwwKcnNhLXNoYTUxMjCBnzANBgkqhkiG9w0B
AQEFAAOBjQAwgYkCgYEA1bz3JX5TRvpzpwYz0DO7AAT1Q7IStyW+99U38D0U/0Aa
sac5FqhEX7ZU1edx23dudgSbfFSA8sX0WWhn9R/Yvs5Lwqza+hAyShqMYJ9EY6Ds
TGb0tEuLo+rXctQ61p3Ngk6y2OPaxvJhWs8MEvIrgGgnt3QrxKEqC19KANBQ/0kC
AwEAAaNTMFEwHQYDVR0OBBYEFOfQJmDYZTij2QVur+xq/QHjv0uzMB8GA1UdIwQY
MBaAFOfQJmDYZTij2QVur+xq/QHjv0uzMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZI
hvcNAQENBQADgYEAGhStP/LzSJe9tkB+HtOEs7Y102BjzMg2Nyq4wdTMNZd0xAyD
iuf6UA6A7YYobMPdY4nQG5gBJE/vVi0qNP8I85jqtOpNGgn93mZuShhLqB5V4y/Y
2COIRWda9yDPaP4YdsckgeJnr4WicLetMxk2dL7XRp0ihP+xNT8unQSwpnQ=
-----END CERTIFICATE-----`,
  },
  {
    name: 'ed25519',
    oid: '1.3.101.112',
    expected: undefined,
    pem: `-----BEGIN CERTIFICATE-----
MIIBOjCB7aADAgECAhRDyWSpUoJlS6TkCOeigg/0/SSbLjAFBgMrZXAwEjEQMA4G
A1UEAwwHZWQyNTUxOTAgFw0yNjExMjMxMTIwMjdaGA8yMTI2MTAzMDExMjAyN1ow
EjEQMA4GA1UEAwwHZWQyNTUxOTAqMAUGAytlcAMhAMvH4K20X+yBdvGQ4IuVt6z+
meBPB0KKsYNoARlwgpM+o1MwUTAdBgNVHQ4EFgQUQhhvP7rlMJiMiu2mXIqW28+Y
iuIwHwYDVR0jBBgwFoAUQhhvP7rlMJiMiu2mXIqW28+YiuIwDwYDVR0TAQH/BAUw
AwEB/zAFBgMrZXADQQANan2P5BleFsugE+HJ4Ynf+2aqukyD5Pe5vuo0CUgqHkkO
p5eGaL0c483b4Rhvw+6TDpoHF/T+c7J9XfCDpQsG
-----END CERTIFICATE-----`,
  },
];

function der(pem: string): Buffer {
  return new X509Certificate(pem).raw;
}

describe('tls-server-end-point', () => {
  for (const c of CASES) {
    it(`${c.name}: signature ${c.oid} → ${c.expected === undefined ? 'no binding' : 'openssl digest'}`, () => {
      assert.equal(certificateSignatureOid(der(c.pem)), c.oid);
      assert.equal(tlsServerEndPoint(der(c.pem))?.toString('hex'), c.expected);
    });
  }

  it('gives no binding data for bytes that are not a certificate', () => {
    assert.equal(tlsServerEndPoint(Buffer.from('not a certificate')), undefined);
    assert.equal(tlsServerEndPoint(Buffer.alloc(0)), undefined);
    const truncated = der(CASES[0]?.pem ?? '').subarray(0, 40);
    assert.equal(tlsServerEndPoint(truncated), undefined);
  });
});
