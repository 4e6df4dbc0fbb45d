import type { SqlConnection } from '../../src/ident/pool.ts';
import type { StreamingRequest } from '../../src/ident/stream.ts';

type Row = Record<string, unknown>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- one listener type for the three events
type Listener = (...args: any[]) => void;

/**
 * A stand-in for an mssql Request in stream mode: rows are emitted one per tick while not paused,
 * like tedious reading a socket; `fail` injects a driver error after some rows.
 */
export class FakeRequest implements StreamingRequest {
  stream = false;
  readonly inputs: Record<string, unknown> = {};
  pauses = 0;
  resumes = 0;
  cancelled = false;
  maxBuffered = 0;
  sql = '';
  private paused = false;
  /** The query ended (all rows sent, or failed): its result set is closed. */
  finished = false;
  private readonly listeners = new Map<string, Listener[]>();
  private readonly produce: (request: FakeRequest) => { rows: Row[]; failAfter?: number; error?: unknown };

  constructor(produce: (request: FakeRequest) => { rows: Row[]; failAfter?: number; error?: unknown }) {
    this.produce = produce;
  }

  input(name: string, _type: unknown, value: unknown) {
    this.inputs[name] = value;
    return this;
  }

  on(event: string, listener: Listener) {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }

  pause() {
    this.paused = true;
    this.pauses += 1;
  }

  resume() {
    this.paused = false;
    this.resumes += 1;
  }

  cancel() {
    this.cancelled = true;
  }

  query(sql: string) {
    this.sql = sql;
    const { rows, failAfter, error } = this.produce(this);
    let index = 0;
    let emittedSincePause = 0;
    const tick = () => {
      if (this.cancelled) return;
      if (this.paused) {
        setImmediate(tick);
        return;
      }
      if (failAfter !== undefined && index === failAfter) {
        this.emit('error', error);
        this.emit('done');
        return;
      }
      if (index >= rows.length) {
        this.emit('done');
        return;
      }
      emittedSincePause += 1;
      this.maxBuffered = Math.max(this.maxBuffered, emittedSincePause);
      this.emit('row', rows[index++]);
      setImmediate(tick);
    };
    setImmediate(tick);
    return this;
  }

  private emit(event: string, ...args: unknown[]) {
    if (event === 'done') this.finished = true;
    for (const listener of this.listeners.get(event) ?? []) listener(...args);
  }
}

/**
 * A connection over an in-memory patients table that answers the source's queries: the clock, the
 * id selection of an incremental run (@since), pages by @afterId / @pageSize or by @id0…, and
 * @patientId.
 */
export function fakeConnection(
  patients: Row[],
  options: {
    clock?: Date;
    failOnQuery?: (request: FakeRequest, call: number) => { failAfter: number; error: unknown } | undefined;
  } = {},
): SqlConnection & { requests: FakeRequest[] } {
  const requests: FakeRequest[] = [];
  let calls = 0;
  return {
    requests,
    request() {
      const request = new FakeRequest((self) => {
        calls += 1;
        if (/SYSDATETIME/.test(self.sql))
          return {
            rows: [
              { DbNow: options.clock ?? new Date(), DbRowVersion: Buffer.from('00000000000007d1', 'hex') },
            ],
          };
        if (/INFORMATION_SCHEMA/.test(self.sql)) return { rows: [] };
        const sorted = [...patients].sort((a, b) => Number(a.PatientId) - Number(b.PatientId));
        const since = self.inputs.since instanceof Date ? self.inputs.since : undefined;
        const changed = (row: Row) => !since || (row.ChangedAt instanceof Date && row.ChangedAt >= since);
        let rows: Row[];
        if (/AS sel \(PatientId\)/.test(self.sql)) {
          rows = sorted.filter(changed).map((row) => ({ PatientId: row.PatientId }));
        } else {
          const ids = Object.entries(self.inputs)
            .filter(([name]) => /^id\d+$/.test(name))
            .map(([, value]) => Number(value));
          rows = sorted.filter((row) => Number(row.PatientId) > Number(self.inputs.afterId ?? 0));
          if (ids.length > 0) rows = rows.filter((row) => ids.includes(Number(row.PatientId)));
          if (self.inputs.patientId !== undefined)
            rows = rows.filter((row) => Number(row.PatientId) === Number(self.inputs.patientId));
          rows = rows.slice(0, Number(self.inputs.pageSize ?? rows.length));
        }
        const failure = options.failOnQuery?.(self, calls);
        return failure ? { rows, ...failure } : { rows };
      });
      requests.push(request);
      return request;
    },
    async close() {},
  };
}
