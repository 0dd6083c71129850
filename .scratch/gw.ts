import { startGatewayEnv } from '../test/helpers/gateway-env.js';
import { writeFileSync } from 'node:fs';
const env = await startGatewayEnv({ cluster: { hba: 'local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n' } });
writeFileSync('/tmp/gw-port', `${env.port} ${env.pki.caBundle}`);
process.on('SIGTERM', async () => { await env.close(); process.exit(0); });
setInterval(() => {}, 1000);
