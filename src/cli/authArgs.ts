/** The command line of `auth`: its usage text, its options, and the portal it names. */
import { parseArgs } from 'node:util';
import { Listen } from '../config/checks.js';
import type { MonitorConfig, PortalConfig } from '../config/types.js';

export const AUTH_USAGE = `Usage: b24-offline-monitor auth [--code CODE] [--listen host:port] [--portal NAME]

Gets the monitor its own token pair from an administrator's consent and writes the token file.
Without options: prints the portal's authorize URL, then waits for the code (or the whole
address the browser was sent to) pasted on standard input. The code lives 30 seconds.
  --code CODE         exchange this code (for scripts)
  --listen host:port  receive the browser's redirect on this local address (the application's
                      handler URL must point there); gives up after 5 minutes
  --portal NAME       the portal to authorize, when MONITOR_CONFIG lists several
A monitor running on the token file holds it: stop the monitor first, start it after.
Then one poll checks the pair. Exit 0: pair saved and poll succeeded, 1: a failure, 2: bad
configuration or usage.
`;

/** The options given; the code is trimmed. */
export interface AuthArgs {
  readonly code?: string | undefined;
  readonly listen?: { readonly host: string; readonly port: number } | undefined;
  readonly portal?: string | undefined;
}

/** The options, or what is wrong with them (for the usage error). */
export function parseAuthArgs(argv: readonly string[]): AuthArgs | string {
  let values: { code?: string; listen?: string; portal?: string };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        code: { type: 'string' },
        listen: { type: 'string' },
        portal: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    // parseArgs quotes the argument it refuses: it may be a code given without --code
    const message = error instanceof Error ? error.message : '';
    const option = /^Unknown option '(--?[A-Za-z][A-Za-z-]*)'/.exec(message)?.[1];
    if (option !== undefined) return `unknown option ${option}`;
    if (/argument missing/.test(message)) return 'an option is missing its value';
    return 'unexpected argument (options only: --code CODE, --listen host:port, --portal NAME)';
  }
  if (values.code !== undefined && values.listen !== undefined) {
    return '--code and --listen exclude each other: the code comes from one place';
  }
  if (values.code?.trim() === '') return '--code needs the authorization code';
  let listen: AuthArgs['listen'];
  if (values.listen !== undefined) {
    const parsed = Listen.safeParse(values.listen);
    if (!parsed.success) return `--listen ${values.listen}: ${parsed.error.issues[0]?.message}`;
    listen = parsed.data;
  }
  return { code: values.code?.trim(), listen, portal: values.portal };
}

/** The one portal to authorize, or the usage error. */
export function choosePortal(
  config: MonitorConfig,
  wanted: string | undefined,
): PortalConfig | string {
  const names = config.portals.map((p) => p.name);
  if (wanted !== undefined) {
    return (
      config.portals.find((p) => p.name === wanted) ??
      `--portal ${wanted}: no such portal; the configuration has ${names.join(', ')}`
    );
  }
  const [only, ...others] = config.portals;
  if (only !== undefined && others.length === 0) return only;
  const shown = names.length > 10 ? `${names.slice(0, 10).join(', ')}, …` : names.join(', ');
  return `the configuration has ${names.length} portals (${shown}): choose one with --portal NAME`;
}
