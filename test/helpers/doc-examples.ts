// The examples in README.md and docs/*.md that are marked to run: a `<!-- runnable -->` line
// (shell, run with bash) or `<!-- runnable: api -->` (a JavaScript module) right before a
// fenced block. Pure: text in, examples out.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DocExample {
  kind: 'shell' | 'api';
  /** `docs/ca.md:12`: where the block starts. */
  location: string;
  code: string;
}

export function examplesIn(text: string, file: string): DocExample[] {
  const lines = text.split('\n');
  const examples: DocExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const marker = /^<!-- runnable(?:: (api))? -->$/.exec(lines[i]?.trim() ?? '');
    if (!marker) continue;
    const fence = i + 1;
    if (!/^```\w*$/.test(lines[fence] ?? '')) {
      throw new Error(`${file}:${i + 1}: a runnable marker must be followed by a fenced block`);
    }
    const end = lines.findIndex((line, at) => at > fence && line.startsWith('```'));
    if (end === -1) throw new Error(`${file}:${fence + 1}: the fenced block is not closed`);
    examples.push({
      kind: marker[1] === 'api' ? 'api' : 'shell',
      location: `${file}:${fence + 1}`,
      code: lines.slice(fence + 1, end).join('\n'),
    });
    i = end;
  }
  return examples;
}

/** Every marked example of README.md and docs/*.md under `root`, in file order. */
export function projectExamples(root: string): DocExample[] {
  const files = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => `docs/${f}`),
  ];
  return files.flatMap((file) => examplesIn(readFileSync(join(root, file), 'utf8'), file));
}
