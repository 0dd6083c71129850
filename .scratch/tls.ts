import net from 'node:net'; import tls from 'node:tls';
const port = Number(process.argv[2]);
function hs(opts: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => s.write(Buffer.from([0,0,0,8,4,210,22,47])));
    s.once('data', (d) => {
      const t = tls.connect({ socket: s, rejectUnauthorized: false, ...opts });
      t.once('secureConnect', () => { resolve(`${t.getProtocol()} ${t.getCipher().name} ${JSON.stringify(t.getEphemeralKeyInfo())}`); t.destroy(); });
      t.once('error', (e) => { resolve('ERR ' + e.message); t.destroy(); });
    });
  });
}
for (const v of ['TLSv1','TLSv1.1','TLSv1.2','TLSv1.3'] as const) {
  console.log(v, 'plain', await hs({ minVersion: v, maxVersion: v }));
  console.log(v, 'sec0', await hs({ minVersion: v, maxVersion: v, ciphers: 'DEFAULT@SECLEVEL=0' }));
}
console.log(await hs({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' }));
console.log(await hs({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'DES-CBC3-SHA:@SECLEVEL=0' }));
console.log(await hs({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'NULL-SHA256:@SECLEVEL=0' }));
console.log(await hs({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'RC4-SHA:@SECLEVEL=0' }));
console.log(await hs({ minVersion: 'TLSv1.3', ecdhCurve: 'X448' }));
console.log(await hs({ minVersion: 'TLSv1.3', ecdhCurve: 'ffdhe2048' }));
console.log(tls.getCiphers().length);
