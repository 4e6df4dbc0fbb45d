import type { ChangeMark, PatientSource } from '../../src/ident/patient-source.ts';
import type { ReceptionSource } from '../../src/ident/reception-source.ts';
import type { ReceptionRow } from '../../src/mapping/deal-mapper.ts';
import type { PatientRow } from '../../src/mapping/mapper.ts';
import {
  ChainPatientSource,
  ChainReceptionSource,
  type IdentSource,
} from '../../src/sources/scoped-sources.ts';
import { idsInField, scopeId, type SourceScope } from '../../src/sources/source-key.ts';
import type { MemoryReceptions } from '../helpers/memory-receptions.ts';
import type { MemorySource } from '../helpers/memory-source.ts';

/**
 * The simulation's clinic chain (`npm run sim -- --sources 2`). The world keeps one IDENT model
 * (its patients and receptions under ids unique in the world, as with one clinic), and each patient
 * and reception belongs to one clinic, where it has an id of that clinic's own: ids overlap from
 * one clinic to the next (patient 1 of each clinic is another person). Each clinic's database is a
 * view of the model in its own ids; the engine reads the chain of those views, as it would read
 * the chain of real databases. A person is one or more patients: a patient of one clinic who
 * registers in another is a second patient of the same person.
 */
export class SimChain {
  readonly scopes: readonly SourceScope[];
  private readonly clinicOfPatient = new Map<string, number>();
  private readonly localOfPatient = new Map<string, number>();
  private readonly patientOfKept = new Map<string, string>();
  private readonly clinicOfReception = new Map<number, number>();
  private readonly localOfReception = new Map<number, number>();
  private readonly receptionOfKept = new Map<string, number>();
  private readonly lastPatient: number[];
  private readonly lastReception: number[];
  /** The person each patient is (its own id unless it registered again in another clinic). */
  readonly personOf = new Map<string, string>();

  constructor(keys: readonly string[]) {
    this.scopes = keys.map((key) => ({ key, bare: false }));
    this.lastPatient = keys.map(() => 0);
    this.lastReception = keys.map(() => 0);
  }
  /** The settings naming this chain's sources, as a clinic's .env would. */
  settings(): Record<string, string> {
    const bare = this.scopes.find((scope) => scope.bare);
    return {
      SOURCES: this.scopes.map((scope) => scope.key).join(','),
      ...(bare ? { SOURCE_BARE_IDS: bare.key } : {}),
    };
  }

  /** Patient `id` of the model is registered in `clinic` (as `person`, if a known person). */
  register(id: string, clinic: number, person = `p${id}`): void {
    if (this.clinicOfPatient.has(id)) return;
    const local = ++this.lastPatient[clinic]!;
    this.clinicOfPatient.set(id, clinic);
    this.localOfPatient.set(id, local);
    this.patientOfKept.set(scopeId(this.scopes[clinic]!, String(local)), id);
    this.personOf.set(id, person);
  }

  /** Reception `id` of the model, booked in its patient's clinic. */
  registerReception(id: number, patientId: string): void {
    const clinic = this.clinicOfPatient.get(patientId)!;
    const local = ++this.lastReception[clinic]!;
    this.clinicOfReception.set(id, clinic);
    this.localOfReception.set(id, local);
    this.receptionOfKept.set(scopeId(this.scopes[clinic]!, String(local)), id);
  }

  clinicOf(patientId: string): number | undefined {
    return this.clinicOfPatient.get(patientId);
  }

  /** The id the sync keeps for a patient of the model (`north:3`). */
  kept(patientId: string): string {
    return scopeId(
      this.scopes[this.clinicOfPatient.get(patientId)!]!,
      String(this.localOfPatient.get(patientId)),
    );
  }

  /** The model's patients a contact's IDENT id field names (ids of no patient left out). */
  patientsOfField(value: unknown): string[] {
    return idsInField(value === undefined || value === null ? undefined : String(value)).flatMap((kept) => {
      const id = this.patientOfKept.get(kept);
      return id === undefined ? [] : [id];
    });
  }

  /** Whether the field names an id no patient of the model ever had. */
  foreignIds(value: unknown): string[] {
    return idsInField(value === undefined || value === null ? undefined : String(value)).filter(
      (kept) => !this.patientOfKept.has(kept),
    );
  }

  /** The model's reception a deal's reception id field names. */
  receptionOfField(value: unknown): number | undefined {
    return value === undefined || value === null ? undefined : this.receptionOfKept.get(String(value).trim());
  }

  /** The model's patient of a kept id (a refusal's, a link's). */
  patientOf(kept: string): string | undefined {
    return this.patientOfKept.get(kept);
  }

  /** The engine's sources: each clinic a view of the model in its own ids, the chain over them. */
  sources(
    patients: MemorySource,
    receptions: MemoryReceptions,
  ): { source: PatientSource; receptions: ReceptionSource } {
    const clinics: IdentSource[] = this.scopes.map((scope, clinic) => ({
      scope,
      patients: new ClinicPatients(patients, this, clinic),
      receptions: new ClinicReceptions(receptions, this, clinic),
    }));
    return { source: new ChainPatientSource(clinics), receptions: new ChainReceptionSource(clinics) };
  }

  /** A row of the model in the clinic's own ids; undefined when it is another clinic's. */
  localPatient(row: PatientRow, clinic: number): PatientRow | undefined {
    const id = String(row.PatientId);
    if (this.clinicOfPatient.get(id) !== clinic) return undefined;
    return { ...row, PatientId: this.localOfPatient.get(id)! };
  }

  localReception(row: ReceptionRow, clinic: number): ReceptionRow | undefined {
    const id = Number(row.ReceptionId);
    if (this.clinicOfReception.get(id) !== clinic) return undefined;
    const patient = String(row.PatientId);
    return {
      ...row,
      ReceptionId: this.localOfReception.get(id)!,
      // A visit moved to a patient of another clinic cannot happen in IDENT (the simulation moves
      // visits within a clinic); the id is kept as the clinic would have it.
      PatientId: this.localOfPatient.get(patient) ?? row.PatientId,
    };
  }

  /** The model's id of a clinic's own id. */
  globalPatient(clinic: number, local: string): string | undefined {
    return this.patientOfKept.get(scopeId(this.scopes[clinic]!, local));
  }

  globalReception(clinic: number, local: string): number | undefined {
    return this.receptionOfKept.get(scopeId(this.scopes[clinic]!, local));
  }
}

/** One clinic's IDENT database: the model's patients of that clinic, in its own ids. */
class ClinicPatients implements PatientSource {
  private readonly model: MemorySource;
  private readonly chain: SimChain;
  private readonly clinic: number;

  constructor(model: MemorySource, chain: SimChain, clinic: number) {
    this.model = model;
    this.chain = chain;
    this.clinic = clinic;
  }

  now(): Promise<ChangeMark> {
    return this.model.now();
  }

  async *changedSince(since: ChangeMark): AsyncGenerator<PatientRow> {
    for await (const row of this.model.changedSince(since)) {
      const local = this.chain.localPatient(row, this.clinic);
      if (local) yield local;
    }
  }

  async *all(): AsyncGenerator<PatientRow> {
    for await (const row of this.model.all()) {
      const local = this.chain.localPatient(row, this.clinic);
      if (local) yield local;
    }
  }

  async one(patientId: string): Promise<PatientRow | undefined> {
    const id = this.chain.globalPatient(this.clinic, patientId);
    const row = id === undefined ? undefined : await this.model.one(id);
    return row && this.chain.localPatient(row, this.clinic);
  }

  async stats(): Promise<{ patients: number; newestChange: Date | null }> {
    let patients = 0;
    let newestChange: Date | null = null;
    for (const row of this.model.rows.values()) {
      if (this.chain.clinicOf(String(row.PatientId)) !== this.clinic) continue;
      patients += 1;
      if (!newestChange || row.ChangedAt > newestChange) newestChange = row.ChangedAt;
    }
    return { patients, newestChange };
  }

  async close(): Promise<void> {}
}

/** One clinic's receptions, in its own ids. */
class ClinicReceptions implements ReceptionSource {
  private readonly model: MemoryReceptions;
  private readonly chain: SimChain;
  private readonly clinic: number;

  constructor(model: MemoryReceptions, chain: SimChain, clinic: number) {
    this.model = model;
    this.chain = chain;
    this.clinic = clinic;
  }

  async *changedSince(since: Date, windowStart: Date): AsyncGenerator<ReceptionRow> {
    for await (const row of this.model.changedSince(since, windowStart)) {
      const local = this.chain.localReception(row, this.clinic);
      if (local) yield local;
    }
  }

  async *window(windowStart: Date): AsyncGenerator<ReceptionRow> {
    for await (const row of this.model.window(windowStart)) {
      const local = this.chain.localReception(row, this.clinic);
      if (local) yield local;
    }
  }

  async one(receptionId: string): Promise<ReceptionRow | undefined> {
    const id = this.chain.globalReception(this.clinic, receptionId);
    const row = id === undefined ? undefined : await this.model.one(String(id));
    return row && this.chain.localReception(row, this.clinic);
  }
}
