const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => ENTITIES[char]!);

/** A time as the console shows it: minutes, UTC. */
export const shortTime = (value: string | Date | null | undefined) =>
  value ? `${new Date(value).toISOString().slice(0, 16).replace('T', ' ')} UTC` : '—';
