import { escapeHtml } from './html.ts';
import type { DayTotals } from './view.ts';

const WIDTH = 720;
const HEIGHT = 220;
const PAD = { left: 44, right: 52, top: 16, bottom: 36 };

/** A round upper bound for an axis: 1, 2, 5 × 10^n. */
function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 5, 10].find((step) => step * power >= value) ?? 10) * power;
}

/**
 * The last 14 days as an inline SVG drawn here (no library, nothing fetched): writes and failures as
 * bars on the left axis, the minutes spent syncing as a line on the right one.
 */
export function historyChart(days: readonly DayTotals[]): string {
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotWidth / Math.max(1, days.length);
  const countMax = niceMax(Math.max(...days.map((day) => Math.max(day.writes, day.failures))));
  // Short runs (a small clinic, the demo) read better in seconds.
  const seconds = Math.max(...days.map((day) => day.durationMinutes)) < 2;
  const unit = seconds ? 's' : 'min';
  const spent = (day: DayTotals) => (seconds ? day.durationMinutes * 60 : day.durationMinutes);
  const minutesMax = niceMax(Math.max(...days.map(spent)));
  const y = (value: number, max: number) => PAD.top + plotHeight - (value / max) * plotHeight;
  const parts: string[] = [];
  for (const fraction of [0, 0.5, 1]) {
    const lineY = y(countMax * fraction, countMax);
    parts.push(
      `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${lineY}" y2="${lineY}" class="grid"/>`,
      `<text x="${PAD.left - 6}" y="${lineY + 4}" text-anchor="end">${countMax * fraction}</text>`,
      `<text x="${WIDTH - PAD.right + 6}" y="${lineY + 4}">${round(minutesMax * fraction)} ${unit}</text>`,
    );
  }
  const points: string[] = [];
  days.forEach((day, index) => {
    const x = PAD.left + index * slot;
    const bar = (slot - 6) / 2;
    const title = `${day.day}: ${day.runs} run(s), ${day.writes} write(s), ${day.failures} failure(s), ${round(spent(day))} ${unit}`;
    parts.push(
      `<g><title>${escapeHtml(title)}</title>`,
      `<rect class="writes" x="${x + 3}" y="${y(day.writes, countMax)}" width="${bar}" height="${(day.writes / countMax) * plotHeight}"/>`,
      `<rect class="failures" x="${x + 3 + bar}" y="${y(day.failures, countMax)}" width="${bar}" height="${(day.failures / countMax) * plotHeight}"/></g>`,
    );
    if ((days.length - 1 - index) % 2 === 0)
      parts.push(
        `<text x="${x + slot / 2}" y="${HEIGHT - PAD.bottom + 16}" text-anchor="middle">${day.day.slice(5)}</text>`,
      );
    points.push(`${x + slot / 2},${y(spent(day), minutesMax)}`);
  });
  parts.push(`<polyline class="duration" points="${points.join(' ')}"/>`);
  return `<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="Runs of the last ${days.length} days: writes, failures and minutes spent">${parts.join('')}</svg>
<p class="legend"><span class="key writes"></span> writes <span class="key failures"></span> failures <span class="key duration"></span> time spent syncing (right axis)</p>`;
}

const round = (value: number) => Math.round(value * 10) / 10;
