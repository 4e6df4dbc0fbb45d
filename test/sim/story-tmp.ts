import { runHistory } from './history.ts';
import { World } from './world.ts';
const orig = (World.prototype as any).run;
let n = 0;
(World.prototype as any).run = async function (kind: string) {
  const before = this.door.arrivals.length;
  const out = await orig.call(this, kind);
  n++;
  const writes = this.door.arrivals.slice(before).filter((a: any) => a.write).map((a: any) => a.method + ' ' + a.path.split('?')[0]);
  console.log(n, kind, out, writes.join(' | '));
  return out;
};
const result = await runHistory({ seed: 22, history: 86, steps: 40, rps: 7 });
console.log(result.violations);
