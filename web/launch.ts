/**
 * /viewer/launch: the SMART App Launch entry (EHR launch). fhirclient reads `iss` and `launch` from the
 * URL, discovers the authorization server from `<iss>/.well-known/smart-configuration` and redirects
 * there with an authorization code request protected by PKCE S256 (required, never plain).
 */
import FHIR from 'fhirclient';
import { showError } from './dom.js';

FHIR.oauth2
  .authorize({
    clientId: 'ecg-cds-viewer',
    scope: 'launch openid fhirUser patient/*.read',
    redirectUri: '/viewer',
    pkceMode: 'required',
  })
  .catch((err: Error) => showError('Could not start the SMART launch', err));
