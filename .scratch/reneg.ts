import net from 'node:net'; import tls from 'node:tls';
const port = Number(process.argv[2]);
const s = net.connect(port, '127.0.0.1');
s.once('connect', () => s.write(Buffer.from([0,0,0,8,4,210,22,47])));
s.once('data', () => {
  const t = tls.connect({ socket: s, rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
  t.once('secureConnect', () => {
    console.log('session', t.getSession()?.length, t.getTLSTicket()?.length);
    const r = t.renegotiate({ rejectUnauthorized: false }, (e) => { console.log('reneg cb', e?.message ?? 'ok'); t.destroy(); });
    console.log('renegotiate returned', r);
  });
  t.on('error', (e) => console.log('err', e.message));
  t.on('close', () => console.log('close'));
});
