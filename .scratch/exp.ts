import { startCluster } from '../test/helpers/pg-cluster.js';
import { createTestPki } from '../test/helpers/pki.js';
import { writeFileSync } from 'node:fs';
const pki = await createTestPki({ keyType: 'rsa2048' });
const c = await startCluster({ ssl: { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caBundle }, settings: { ssl_min_protocol_version: 'TLSv1', ssl_ciphers: 'ALL:@SECLEVEL=0' }, hba: 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n' });
writeFileSync('/tmp/exp-port', `${c.port} ${pki.caBundle}`);
console.log('port', c.port, pki.caBundle);
process.on('SIGTERM', async () => { await c.stop(); await pki.cleanup(); process.exit(0); });
setInterval(() => {}, 1000);
