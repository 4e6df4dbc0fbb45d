/**
 * A name as the console shows it: the surname's first letter and seven stars (whatever its length,
 * which would narrow it down), then the first name's initial — "Иванова Мария Петровна" →
 * "И******* М.". Patronymic and the rest go.
 */
export function maskName(lastName: string | undefined, firstName: string | undefined): string | undefined {
  const surname = Array.from((lastName ?? '').trim().split(/\s+/)[0] ?? '');
  const given = Array.from((firstName ?? '').trim());
  if (surname.length === 0 && given.length === 0) return undefined;
  const parts: string[] = [];
  if (surname.length > 0) parts.push(`${surname[0]!.toUpperCase()}${'*'.repeat(7)}`);
  if (given.length > 0 && /\p{L}/u.test(given[0]!)) parts.push(`${given[0]!.toUpperCase()}.`);
  return parts.join(' ');
}

/** A whole name in one string ("Иванова М. П.", "Иванова Мария Петровна"): surname first. */
export function maskFullName(name: string | undefined): string | undefined {
  const words = (name ?? '').trim().split(/\s+/).filter(Boolean);
  return maskName(words[0], words[1]);
}
