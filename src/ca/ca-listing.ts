// Reading the CA without its keys or the X.509 library: whether a CA level exists, the issued
// certificates in the index, and days left. `ca list` needs nothing more, so it starts fast.
import { stat } from 'node:fs/promises';
import { PgTunnelError } from '../errors.js';
import { type IndexEntry, loadIndex } from './ca-index.js';
import type { CaLayout, CaLevel } from './layout.js';

const DAY_MS = 86_400_000;

/** Whole days until `date`, rounded; an instant in the past counts as at least one day ago. */
export function daysUntil(date: Date, now: Date = new Date()): number {
  const ms = date.getTime() - now.getTime();
  return ms >= 0 ? Math.round(ms / DAY_MS) : -Math.max(1, Math.round(-ms / DAY_MS));
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Throws ERR_CA_MISSING naming the first missing step (`ca init` before `ca intermediate`). */
export async function requireCaLevel(layout: CaLayout, level: CaLevel): Promise<void> {
  if (level === 'intermediate') await requireCaLevel(layout, 'root');
  if (await exists(layout.level(level).cert)) return;
  const hint =
    level === 'root'
      ? 'create one with `pgtunnel ca init`, or point --ca-dir (or PGTUNNEL_CA_DIR) at an existing one'
      : 'create it with `pgtunnel ca intermediate`';
  throw new PgTunnelError(
    'ERR_CA_MISSING',
    `no ${level} CA in ${layout.dir} (${layout.level(level).cert} does not exist); ${hint}`,
  );
}

/** Every certificate in the index, oldest first. */
export async function listCertificates(layout: CaLayout): Promise<IndexEntry[]> {
  await requireCaLevel(layout, 'root');
  const index = await loadIndex(layout.index);
  return [...index.certificates].sort((a, b) => a.issuedAt.localeCompare(b.issuedAt));
}
