/**
 * Demo data for `npm start` without FHIR_BASE_URL: patients whose ECG Observations are encoded from the
 * committed PhysioNet excerpts in test/fixtures (attribution in test/fixtures/README.md). Conditional
 * creates on stable identifiers, so seeding twice (or over a snapshot) adds nothing.
 */
import { join } from 'node:path';
import { readWfdbRecord } from '../../inference/io/record.js';
import type { FhirAccess } from '../client.js';
import { DEMO_IDENTIFIER_SYSTEM } from '../definitions/canonical.js';
import { encodeEcgObservation } from '../ecg-codec.js';

export { DEMO_IDENTIFIER_SYSTEM };

export interface DemoPatient {
  readonly id: string;
  readonly given: string;
  readonly family: string;
  /** Record path under test/fixtures. */
  readonly record: string;
  /** What the recording shows according to its source database (not what our model says). */
  readonly shows: string;
  /** Hours before start-up at which the ECG is dated. */
  readonly hoursAgo: number;
  /**
   * Sex and age from the source record where it gives them (MIT-BIH header, PTB-XL metadata; NSTDB 118e00
   * is MIT-BIH 118), invented for CinC 2017, which publishes none; the day of birth is made up.
   */
  readonly gender: 'male' | 'female';
  readonly birthDate: string;
}

export const DEMO_PATIENTS: readonly DemoPatient[] = [
  {
    id: 'demo-sinus',
    given: 'Nora',
    family: 'Sinus',
    record: 'cinc2017/A00007',
    shows: 'normal sinus rhythm (CinC 2017 A00007, 30 s)',
    hoursAgo: 3,
    gender: 'female',
    birthDate: '1979-04-12',
  },
  {
    id: 'demo-af',
    given: 'Arthur',
    family: 'Fibrillation',
    record: 'cinc2017/A00004',
    shows: 'atrial fibrillation (CinC 2017 A00004, 30 s)',
    hoursAgo: 5,
    gender: 'male',
    birthDate: '1948-09-03',
  },
  {
    id: 'demo-bigeminy',
    given: 'Victoria',
    family: 'Bigeminy',
    record: 'mitdb/mitdb-119-21m-24m',
    shows: 'frequent PVCs with ventricular bigeminy and trigeminy (MIT-BIH 119, 3 min)',
    hoursAgo: 8,
    gender: 'female',
    birthDate: '1975-02-21',
  },
  {
    id: 'demo-af-runs',
    given: 'Adam',
    family: 'Holter',
    record: 'mitdb/mitdb-201-1m-4m',
    shows: 'atrial fibrillation (MIT-BIH 201, 3 min)',
    hoursAgo: 20,
    gender: 'male',
    birthDate: '1958-11-30',
  },
  {
    id: 'demo-12lead',
    given: 'Twelve',
    family: 'Lead',
    record: 'ptbxl/00318_hr',
    shows: '12-lead ECG with atrial fibrillation (PTB-XL 318, 10 s)',
    hoursAgo: 26,
    gender: 'male',
    birthDate: '1970-06-15',
  },
  {
    id: 'demo-12lead-normal',
    given: 'Norma',
    family: 'Twelve',
    record: 'ptbxl/00003_hr',
    shows: 'normal 12-lead ECG (PTB-XL 3, 10 s)',
    hoursAgo: 30,
    gender: 'female',
    birthDate: '1989-01-27',
  },
  {
    id: 'demo-noisy',
    given: 'Noel',
    family: 'Artifact',
    record: 'nstdb/nstdb-118e00-5m-7m',
    shows: 'strip buried in electrode-motion noise at 0 dB (NSTDB 118e00, 2 min)',
    hoursAgo: 2,
    gender: 'male',
    birthDate: '1957-08-09',
  },
];

export interface SeededEcg {
  readonly patient: DemoPatient;
  readonly observation: fhir4.Observation;
}

/** Create the demo Patients and their ECG Observations on `fhir`; returns the stored Observations. */
export async function seedDemo(
  fhir: FhirAccess,
  fixturesDir: string,
  now = new Date(),
): Promise<SeededEcg[]> {
  const out: SeededEcg[] = [];
  for (const p of DEMO_PATIENTS) {
    const patientIdentifier = { system: DEMO_IDENTIFIER_SYSTEM, value: p.id };
    // Patients get the demo id as identifier; the server assigns the logical id.
    const patient = await fhir.create<fhir4.Patient>(
      {
        resourceType: 'Patient',
        identifier: [patientIdentifier],
        name: [{ given: [p.given], family: p.family, text: `${p.given} ${p.family} (demo)` }],
        gender: p.gender,
        birthDate: p.birthDate,
      },
      { ifNoneExist: `identifier=${DEMO_IDENTIFIER_SYSTEM}|${p.id}` },
    );
    const { ecg } = await readWfdbRecord(join(fixturesDir, p.record));
    const effective = new Date(now.getTime() - p.hoursAgo * 3600_000);
    effective.setUTCMinutes(0, 0, 0);
    const ecgIdentifier = { system: DEMO_IDENTIFIER_SYSTEM, value: `${p.id}-ecg-1` };
    const observation = await fhir.create(
      encodeEcgObservation(ecg, {
        patientId: patient.id!,
        effectiveDateTime: effective.toISOString(),
        identifier: ecgIdentifier,
      }),
      { ifNoneExist: `identifier=${ecgIdentifier.system}|${ecgIdentifier.value}` },
    );
    out.push({ patient: { ...p, id: patient.id! }, observation });
  }
  return out;
}
