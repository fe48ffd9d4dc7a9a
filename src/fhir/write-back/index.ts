/** Write-back of analysed ECGs as AI-transparent FHIR R4 resources, and reading them back. */
export { type BuildOptions, buildWriteBack } from './build.js';
export * from './codes.js';
export {
  analysisIdentifier,
  analysisKey,
  identifierQuery,
  reportSearchForAnalysis,
  reportSearchForPatient,
} from './identity.js';
export { parseStoredResult, StoredResultError } from './parse.js';
