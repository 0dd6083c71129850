import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
const ctx = tls.createSecureContext({ ciphers: 'ALL:COMPLEMENTOFALL:@SECLEVEL=0', minVersion: 'TLSv1', maxVersion: 'TLSv1.3' });
// @ts-ignore
const list = (ctx.context as any).getCiphers?.();
console.log(list?.length, list?.join(' '));
for (const c of ['DES-CBC3-SHA','RC4-SHA','NULL-SHA','NULL-SHA256','ECDHE-RSA-NULL-SHA','ADH-AES128-SHA','AECDH-AES128-SHA','EXP-RC4-MD5','AES128-SHA','DHE-RSA-AES128-SHA','PSK-AES128-CBC-SHA','CAMELLIA128-SHA','SEED-SHA','IDEA-CBC-SHA','ARIA128-GCM-SHA256']) {
  try { tls.createSecureContext({ ciphers: c + ':@SECLEVEL=0' }); console.log('ok', c); } catch (e) { console.log('no', c); }
}
const x = new X509Certificate(require('fs').readFileSync('/etc/ssl/certs/ca-certificates.crt'));
console.log(Object.getOwnPropertyNames(Object.getPrototypeOf(x)));
