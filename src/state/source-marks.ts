/** In a clinic chain: each database's own checkpoint mark, by source key. */
export type SourceMarks = Record<string, { at: Date; rowVersion?: string }>;

/** A chain's per-source marks as kept in the state's meta table (empty for one database). */
export function writeSourceMarks(marks: SourceMarks | undefined): string {
  if (!marks) return '';
  return JSON.stringify(
    Object.fromEntries(
      Object.entries(marks).map(([key, mark]) => [
        key,
        { at: mark.at.toISOString(), rowVersion: mark.rowVersion },
      ]),
    ),
  );
}

export function readSourceMarks(value: string | undefined): { sources?: SourceMarks } {
  if (!value) return {};
  const parsed = JSON.parse(value) as Record<string, { at: string; rowVersion?: string }>;
  return {
    sources: Object.fromEntries(
      Object.entries(parsed).map(([key, mark]) => [
        key,
        { at: new Date(mark.at), ...(mark.rowVersion ? { rowVersion: mark.rowVersion } : {}) },
      ]),
    ),
  };
}
