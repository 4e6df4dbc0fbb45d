import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ARRIVAL_MARGIN_MS, PACE_WINDOW_MS, RateLimiter } from '../../src/amocrm/rate-limiter.ts';
import { PACE_FILE, SharedPace } from '../../src/amocrm/shared-pace.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { VirtualClock } from '../helpers/virtual-clock.ts';
import { busiest } from '../helpers/windows.ts';
import { mulberry32 } from '../../src/support/random.ts';

/** `callers` loops of `each` acquires on their limiters; the virtual moments each acquire returned. */
async function departures(
  clock: VirtualClock,
  limiters: RateLimiter[],
  callers: number,
  each: number,
): Promise<number[]> {
  const stamps: number[] = [];
  const loops = Array.from({ length: callers }, async (_, caller) => {
    const limiter = limiters[caller % limiters.length]!;
    for (let index = 0; index < each; index++) {
      await limiter.acquire();
      stamps.push(clock.monotonic());
    }
  });
  await clock.run(Promise.all(loops), 600_000);
  return stamps;
}

describe('the pace holds at arrival (hole 4)', () => {
  it('hole 4: never more than 7 requests in any second at arrival, however late the timers fire', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = mulberry32(seed);
      const clock = new VirtualClock();
      // A busy machine: one timer in four fires up to 400 ms late.
      clock.lateness = () => (random() < 0.25 ? random() * 400 : 0);
      const started = clock.monotonic();
      const stamps = await departures(clock, [new RateLimiter(7, clock)], 6, 50);
      assert.equal(stamps.length, 300);
      // Each request reaches amoCRM up to the margin later than it left, differently each time.
      const arrivals = stamps.map((at) => at + random() * (ARRIVAL_MARGIN_MS - 1));
      assert.ok(
        busiest(arrivals, 1000) <= 7,
        `seed ${seed}: ${busiest(arrivals, 1000)} arrivals in a second`,
      );
      assert.ok(
        busiest(stamps, PACE_WINDOW_MS) <= 7,
        `seed ${seed}: ${busiest(stamps, PACE_WINDOW_MS)} departures`,
      );
      // Never a burst: requests queued at amoCRM's door would be counted later than they left.
      const sorted = [...stamps].sort((x, y) => x - y);
      const closest = Math.min(...sorted.slice(1).map((at, index) => at - sorted[index]!));
      assert.ok(closest >= PACE_WINDOW_MS / 7 / 2 - 1, `seed ${seed}: two requests ${closest} ms apart`);
      // Late timers cost time; they never buy a faster pace. And the pace is kept, not lost.
      const seconds = (clock.monotonic() - started) / 1000;
      assert.ok(seconds < (300 / 7) * (PACE_WINDOW_MS / 1000) + 5, `seed ${seed}: ${seconds} s for 300`);
    }
  });

  it('two processes on one state folder stay within 7 in any second together, with late timers', async () => {
    const dir = tempDir();
    const random = mulberry32(42);
    const clock = new VirtualClock();
    clock.lateness = () => (random() < 0.3 ? random() * 300 : 0);
    const limiters = [0, 1].map(() => new RateLimiter(7, clock, new SharedPace(dir)));
    const stamps = await departures(clock, limiters, 6, 30);
    assert.equal(stamps.length, 180);
    // Each keeping its own pace would give 14.
    assert.ok(busiest(stamps, PACE_WINDOW_MS) <= 7, `${busiest(stamps, PACE_WINDOW_MS)} in one window`);
  });

  it('a request held after its turn (a new connection, a busy event loop) counts from when it really left', async () => {
    for (const book of [undefined, new SharedPace(tempDir())]) {
      const clock = new VirtualClock();
      const limiter = new RateLimiter(7, clock, book);
      const first = await clock.run(limiter.acquire());
      const stamped = clock.monotonic();
      const others = (async () => {
        const stamps: number[] = [];
        for (let index = 0; index < 7; index++) {
          await limiter.acquire();
          stamps.push(clock.monotonic());
        }
        return stamps;
      })();
      // The first request's bytes leave 60 ms after its turn, before the next one's turn comes.
      await clock.advance(60);
      first.left();
      const stamps = await clock.run(others);
      assert.ok(
        stamps[6]! >= stamped + 60 + PACE_WINDOW_MS,
        `the 8th left ${stamps[6]! - stamped} ms after the first was let through`,
      );
    }
  });

  it('a 429 seen by one process pauses the other and halves its own pace', async () => {
    const dir = tempDir();
    const clock = new VirtualClock();
    const [first, second] = [0, 1].map(() => new RateLimiter(7, clock, new SharedPace(dir)));
    await clock.run(first!.acquire());
    const pausedAt = clock.monotonic();
    first!.pauseFor(3_000);
    assert.equal(first!.currentRate, 3.5);
    await clock.run(second!.acquire());
    assert.ok(clock.monotonic() - pausedAt >= 3_000, 'the other process waited for the pause');
    // At 3.5 (3 per window) the first process leaves at most 3 in any window.
    const stamps = await departures(clock, [first!], 3, 4);
    assert.ok(busiest(stamps, PACE_WINDOW_MS) <= 3, `${busiest(stamps, PACE_WINDOW_MS)} after the halving`);
  });
});

describe('the pace survives clock steps and reboots (hole 3)', () => {
  it('hole 3: a wall clock stepped back an hour does not stall the pace', async () => {
    for (const book of [undefined, new SharedPace(tempDir())]) {
      const clock = new VirtualClock();
      const limiter = new RateLimiter(7, clock, book);
      await departures(clock, [limiter], 2, 10);
      clock.stepWall(-3_600_000);
      const before = clock.monotonic();
      const stamps = await departures(clock, [limiter], 2, 10);
      assert.equal(stamps.length, 20, 'every request left');
      assert.ok(clock.monotonic() - before < 5_000, `20 requests took ${clock.monotonic() - before} ms`);
    }
  });

  it('hole 3: a pace file written before the wall clock stepped back does not stall the next process', async () => {
    const dir = tempDir();
    // What earlier versions stored: the next free slot as wall-clock ms, here an hour ahead.
    const db = new DatabaseSync(join(dir, PACE_FILE));
    db.exec('CREATE TABLE pace (id INTEGER PRIMARY KEY CHECK (id = 1), next_slot REAL NOT NULL)');
    const clock = new VirtualClock(Date.now());
    db.prepare('INSERT INTO pace (id, next_slot) VALUES (1, ?)').run(clock.now() + 3_600_000);
    db.close();
    const limiter = new RateLimiter(7, clock, new SharedPace(dir));
    const before = clock.monotonic();
    await clock.run(limiter.acquire(), 60_000);
    assert.ok(
      clock.monotonic() - before < 1_000,
      `the first request waited ${clock.monotonic() - before} ms`,
    );
  });

  it('departures and pauses stamped before a reboot (far ahead of monotonic time) are forgotten', async () => {
    const dir = tempDir();
    const before = new SharedPace(dir);
    const clock = new VirtualClock();
    // The last boot ran for days: its stamps are far ahead of this boot's monotonic clock.
    const lastBoot = clock.monotonic() + 3 * 86_400_000;
    for (let index = 0; index < 7; index++) before.depart(() => lastBoot, 7, PACE_WINDOW_MS);
    before.pauseUntil(lastBoot + 60_000, lastBoot);
    before.close();
    const limiter = new RateLimiter(7, clock, new SharedPace(dir));
    const started = clock.monotonic();
    await clock.run(
      (async () => {
        for (let index = 0; index < 7; index++) await limiter.acquire();
      })(),
      60_000,
    );
    assert.ok(clock.monotonic() - started < PACE_WINDOW_MS, 'seven requests left within one window');
  });
});
