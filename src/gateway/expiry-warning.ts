// Logs a warning when the served certificate is about to expire (ssl_cert_expiry_warning), at
// start and after each reload, so the log says it before clients start refusing it.
import type { Logger } from '../log.js';
import { expiryWarnings } from '../tls/certificate-inventory.js';
import type { GatewayGeneration } from './generation.js';

export function warnAboutExpiry(generation: GatewayGeneration, logger: Logger): void {
  const warnings = expiryWarnings(
    generation.certificates ?? [],
    generation.settings.ssl_cert_expiry_warning,
  );
  for (const warning of warnings) logger.warn({ setting: 'ssl_cert_expiry_warning' }, warning);
}
