/**
 * A second reporter beside `spec` in `npm test`: it names, at the very end, every test and suite
 * that was skipped (or left as todo) with its reason. Node's own summary counts a skipped suite
 * nowhere ("skipped 0" while the whole SQL Server suite did not run).
 */
import { relative } from 'node:path';

interface TestEventData {
  name: string;
  nesting: number;
  file?: string;
  skip?: string | boolean;
  todo?: string | boolean;
}
interface TestEvent {
  type: string;
  data: TestEventData;
}

const reason = (mark: string | boolean | undefined) => (typeof mark === 'string' ? mark : 'no reason given');

export default async function* skipped(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const lines: string[] = [];
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { data } = event;
    const where = data.file ? ` (${relative(process.cwd(), data.file)})` : '';
    if (data.skip !== undefined && data.skip !== false)
      lines.push(`  skipped: ${data.name}${where}: ${reason(data.skip)}`);
    else if (data.todo !== undefined && data.todo !== false)
      lines.push(`  todo:    ${data.name}${where}: ${reason(data.todo)}`);
  }
  yield lines.length === 0
    ? '\nNothing was skipped.\n'
    : `\n${lines.length} test(s) or suite(s) did not run or are todo:\n${lines.join('\n')}\n`;
}
