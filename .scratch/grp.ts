import tls from 'node:tls';
for (const g of ['X25519','prime256v1','P-256','secp384r1','secp521r1','X448','ffdhe2048','ffdhe3072']) {
  try { tls.createSecureContext({ ecdhCurve: g }); console.log('ok', g); } catch (e) { console.log('no', g, (e as Error).message); }
}
