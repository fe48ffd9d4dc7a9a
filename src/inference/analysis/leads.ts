/** Lead order for the pipeline: the primary lead (MLII, II, else first) first, the others after it. */
import { type Ecg, type Lead, primaryLead } from '../ecg.js';

export function primaryLeadFirst(ecg: Ecg): { lead: Lead; leads: Float32Array[] } {
  const lead = primaryLead(ecg);
  return { lead, leads: [lead.samples, ...ecg.leads.filter((l) => l !== lead).map((l) => l.samples)] };
}
