import { startCluster } from '../test/helpers/pg-cluster.js';
import { createTestPki } from '../test/helpers/pki.js';
import { writeFileSync } from 'node:fs';
const pki = await createTestPki();
const c = await startCluster({ ssl: { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caBundle }, settings: { ssl_min_protocol_version: 'TLSv1.1', password_encryption: 'md5' }, hba: 'local all all trust\nhostssl all all 127.0.0.1/32 md5\nhostssl all all ::1/128 trust\nhost all all 10.0.0.0/8 md5\n' });
await c.sql("ALTER ROLE postgres PASSWORD 'pw'");
writeFileSync('/tmp/exp3-port', `${c.port} ${pki.caBundle}`);
process.on('SIGTERM', async () => { await c.stop(); await pki.cleanup(); process.exit(0); });
setInterval(() => {}, 1000);
