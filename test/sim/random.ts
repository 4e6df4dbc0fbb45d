import { mulberry32 } from '../../src/support/random.ts';

/** A small seeded generator (mulberry32): the same seed gives the same history on every machine. */
export class Random {
  readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.next() * list.length)]!;
  }

  weighted<T extends string>(weights: Readonly<Record<T, number>>): T {
    const entries = Object.entries(weights) as [T, number][];
    let roll = this.next() * entries.reduce((sum, [, weight]) => sum + weight, 0);
    for (const [name, weight] of entries) {
      roll -= weight;
      if (roll < 0) return name;
    }
    return entries.at(-1)![0];
  }
}

/** One history's seed from the run's seed and its index (so history 17 of seed 5 replays alone). */
export function historySeed(seed: number, history: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 2_654_435_761) + Math.imul(history + 1, 40_503)) >>> 0;
}
