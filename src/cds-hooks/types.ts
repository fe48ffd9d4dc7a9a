/**
 * CDS Hooks 2.0 wire format (https://cds-hooks.hl7.org/2.0/), as readonly interfaces (STYLE habit 13).
 * Only what this service sends or reads is modelled. Spec rule kept everywhere: never send `null`, `""`,
 * `[]` or `{}` except `cards: []` and `services: []` (§ "Extensions / null values").
 */

/** https://cds-hooks.hl7.org/2.0/#coding */
export interface Coding {
  readonly system: string;
  readonly code: string;
  readonly display?: string;
}

/** https://cds-hooks.hl7.org/2.0/#response — a discovery entry. */
export interface CdsServiceDefinition {
  readonly id: string;
  readonly hook: string;
  readonly title?: string;
  readonly description: string;
  readonly prefetch?: Readonly<Record<string, string>>;
  readonly usageRequirements?: string;
}

/** https://cds-hooks.hl7.org/2.0/#fhir-resource-access */
export interface FhirAuthorization {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly scope: string;
  readonly subject: string;
  readonly patient?: string;
}

/** https://cds-hooks.hl7.org/2.0/#http-request_1 */
export interface CdsRequest {
  readonly hook: string;
  readonly hookInstance: string;
  readonly fhirServer?: string;
  readonly fhirAuthorization?: FhirAuthorization;
  readonly context: Readonly<Record<string, unknown>>;
  /** A key the client could not fill is `null`; a failed prefetch may be an OperationOutcome. */
  readonly prefetch?: Readonly<Record<string, unknown>>;
}

/** https://cds-hooks.hl7.org/2.0/#link */
export interface Link {
  readonly label: string;
  readonly url: string;
  readonly type: 'absolute' | 'smart';
  readonly appContext?: string;
  readonly autolaunchable?: boolean;
}

/** https://cds-hooks.hl7.org/2.0/#source */
export interface Source {
  readonly label: string;
  readonly url?: string;
  readonly icon?: string;
  readonly topic?: Coding;
}

/** https://cds-hooks.hl7.org/2.0/#action */
export interface Action {
  readonly type: 'create' | 'update' | 'delete';
  readonly description: string;
  /** For create and update: the FHIR resource. */
  readonly resource?: fhir4.FhirResource;
  /** For delete: `Type/id`. */
  readonly resourceId?: string;
}

/** https://cds-hooks.hl7.org/2.0/#suggestion */
export interface Suggestion {
  readonly label: string;
  readonly uuid?: string;
  readonly isRecommended?: boolean;
  readonly actions?: readonly Action[];
}

/** https://cds-hooks.hl7.org/2.0/#card-attributes */
export interface Card {
  readonly uuid?: string;
  /** < 140 characters. */
  readonly summary: string;
  readonly detail?: string;
  readonly indicator: 'info' | 'warning' | 'critical';
  readonly source: Source;
  readonly suggestions?: readonly Suggestion[];
  /** SHALL be present when `suggestions` is. */
  readonly selectionBehavior?: 'at-most-one' | 'any';
  readonly overrideReasons?: readonly Coding[];
  readonly links?: readonly Link[];
}

export interface CdsResponse {
  readonly cards: readonly Card[];
}

/** https://cds-hooks.hl7.org/2.0/#feedback */
export interface FeedbackEntry {
  readonly card: string;
  readonly outcome: 'accepted' | 'overridden';
  readonly acceptedSuggestions?: ReadonlyArray<{ readonly id: string }>;
  readonly overrideReason?: { readonly reason?: Coding; readonly userComment?: string };
  readonly outcomeTimestamp: string;
}

/**
 * An error a handler raises that maps to a CDS Hooks HTTP status (STYLE habit 7). `message` is what the
 * caller reads (never a token or a sample value); `field` names the request element at fault, e.g.
 * `fhirServer` or `prefetch.ecgs.entry[0].resource.id`.
 */
export class CdsError extends Error {
  override readonly name = 'CdsError';
  constructor(
    readonly status: 400 | 404 | 412 | 413 | 422,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}
