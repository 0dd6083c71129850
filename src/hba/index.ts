// The public face of src/hba for the gateway and config: load once, then match and authorize
// each connection with pure functions.
export {
  type Authorization,
  authorize,
  type ClientCertFacts,
  type DenyReason,
} from './authorize.js';
export { checkUsermap, identMapAllows, parseIdent } from './ident.js';
export {
  type AuthFileSources,
  authFileSources,
  checkRuleMaps,
  fileSystemReader,
  type LoadedHba,
  loadHba,
} from './load.js';
export { type ConnectionFacts, type HbaDecision, matchHba, replicationMode } from './match.js';
export { type ParsedHba, parseHba } from './parse.js';
export { HbaConfigError, type HbaProblem, type HbaWarning } from './problems.js';
export { checkTlsRequirements, type TlsCapabilities } from './tls-requirements.js';
export type { ConfigReader } from './tokenize.js';
export type { HbaMethod, HbaRule, IdentMaps } from './types.js';
export { ruleLocation } from './types.js';
