// Where the CA key passphrase comes from: the first line of a file, standard input (typed at a
// prompt without echo when it is a terminal), or an environment variable. Never a command-line
// argument, which every user on the machine can read with `ps`.
import { readFile } from 'node:fs/promises';
import { PgTunnelError } from '../errors.js';

/** The streams a prompt uses; a parameter so tests and other callers can pass their own. */
export interface PromptStreams {
  input: NodeJS.ReadStream;
  output: NodeJS.WritableStream;
}

function firstLine(text: string): string {
  // Like PostgreSQL's ssl_passphrase_command: the first line, without its line ending.
  return text.split(/\r?\n/)[0] ?? '';
}

function failure(message: string, cause?: unknown): PgTunnelError {
  return new PgTunnelError('ERR_CA_PASSPHRASE', message, cause ? { cause } : undefined);
}

/**
 * Reads the passphrase named by `--passphrase-file`: a path, or `-` for standard input. On a
 * terminal, `-` prompts without echo, twice when `confirm` is set (a mistyped passphrase for a
 * new key would lock the key away for good).
 */
export async function passphraseFromFile(
  file: string,
  streams: PromptStreams,
  confirm = false,
): Promise<string> {
  let passphrase: string;
  if (file === '-' && streams.input.isTTY) {
    passphrase = await promptPassphrase('Passphrase for the CA keys: ', streams);
    if (confirm && passphrase !== '') {
      const again = await promptPassphrase('Repeat the passphrase: ', streams);
      if (again !== passphrase) throw failure('the two passphrases typed differ; nothing changed');
    }
  } else if (file === '-') {
    let text = '';
    for await (const chunk of streams.input) text += String(chunk);
    passphrase = firstLine(text);
  } else {
    try {
      passphrase = firstLine(await readFile(file, 'utf8'));
    } catch (error) {
      throw failure(`cannot read --passphrase-file ${file}: ${(error as Error).message}`, error);
    }
  }
  if (passphrase === '') {
    throw failure(
      file === '-'
        ? 'no passphrase was given on standard input (--passphrase-file -)'
        : `--passphrase-file ${file} is empty`,
    );
  }
  return passphrase;
}

/**
 * Asks for a passphrase on a terminal with echo off. Ctrl-C or Ctrl-D cancels: in raw mode
 * Ctrl-C raises no signal, so it is handled here.
 */
export function promptPassphrase(question: string, streams: PromptStreams): Promise<string> {
  const { input, output } = streams;
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error?: PgTunnelError) => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onEnd = () => finish(failure('standard input closed before a passphrase was typed'));
    const onData = (chunk: Buffer | string) => {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003' || ch === '\u0004')
          return finish(failure('passphrase entry cancelled'));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else value += ch;
      }
    };
    // Raw mode before the question: nothing typed after it may be echoed.
    input.setRawMode(true);
    output.write(question);
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
  });
}
