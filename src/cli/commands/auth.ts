import { BlockList, isIP } from 'node:net';
import type { Command } from 'commander';
import { createAmoClient, sharedLimiter } from '../../amocrm/client.ts';
import { AmoHttp } from '../../amocrm/http.ts';
import { listenForCallback } from '../../amocrm/oauth-callback.ts';
import { consentUrl, newState, OAuthEndpoint } from '../../amocrm/oauth.ts';
import { TokenStore } from '../../amocrm/token-store.ts';
import type { Config } from '../../config/config.ts';
import { ActionableError } from '../../errors.ts';
import type { Logger } from '../../logging/logger.ts';
import { commandContext } from '../context.ts';

export function registerAuth(program: Command): void {
  program
    .command('auth')
    .description('authorise the integration in amoCRM (OAuth) and store the tokens in STATE_DIR')
    .option('--code <code>', 'exchange an authorization code copied from the integration settings page')
    .option(
      '--host <address>',
      "address the callback server listens on (default: the redirect URL's host; 0.0.0.0 in a container)",
    )
    .option('--timeout <minutes>', 'how long to wait for the callback, 1 to 120', '20')
    .action(async (options: { code?: string; host?: string; timeout: string }) => {
      const timeoutMinutes = Number(options.timeout);
      if (!/^\d+$/.test(options.timeout.trim()) || timeoutMinutes < 1 || timeoutMinutes > 120)
        throw new ActionableError(
          `--timeout ${JSON.stringify(options.timeout)}: expected whole minutes from 1 to 120`,
          {
            exitCode: 2,
          },
        );
      const { config, logger } = commandContext(['amocrm-oauth'], { writesState: true });
      // Before a person consents or a code is exchanged: a code is single-use.
      new TokenStore(config.stateDir).assertWritable();
      const out = (line: string) => process.stdout.write(`${line}\n`);
      let code = options.code;
      let baseUrl = config.amocrm.baseUrl;
      if (!code) {
        const redirect = new URL(config.amocrm.redirectUri);
        const warning = options.host ? undefined : everyInterfaceWarning(redirect);
        if (warning) logger.warn(warning);
        const state = newState();
        const server = await listenForCallback({
          // The callback listens only where the redirect URL points (localhost: this machine only).
          host: options.host ?? callbackHost(redirect),
          port: Number(redirect.port || (redirect.protocol === 'https:' ? 443 : 80)),
          path: redirect.pathname || '/',
          state,
          timeoutMs: timeoutMinutes * 60_000,
        });
        out(
          `Waiting for amoCRM on port ${server.port}${redirect.pathname} (redirect URL ${config.amocrm.redirectUri}).`,
        );
        out('Open this address in a browser where you are logged in to amoCRM, and allow access:');
        out('');
        out(
          `  ${consentUrl(baseUrl ?? `https://www.${config.amocrm.domain}`, config.amocrm.clientId!, state)}`,
        );
        out('');
        try {
          const answer = await server.result;
          code = answer.code;
          baseUrl = accountUrl(baseUrl, answer.referer);
        } finally {
          await server.close();
        }
      }
      if (!baseUrl) {
        throw new ActionableError(
          'set AMOCRM_SUBDOMAIN (or AMOCRM_BASE_URL) so the code can be exchanged with your account',
          {
            exitCode: 2,
          },
        );
      }
      await exchangeAndStore(config, baseUrl, code, logger, out);
    });
}

/** Where the callback server listens: the redirect URL's own host, loopback for localhost. */
export function callbackHost(redirect: URL): string {
  const host = redirect.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' ? '127.0.0.1' : host;
}

/**
 * A redirect URL on 0.0.0.0 or [::] makes the callback listen on every interface of this machine
 * (anyone on the network may answer it first): said in one sentence, since `--host` is the
 * deliberate way to ask for that (a container).
 */
export function everyInterfaceWarning(redirect: URL): string | undefined {
  if (!isUnspecifiedAddress(callbackHost(redirect))) return undefined;
  return `AMOCRM_REDIRECT_URI names ${redirect.hostname}, so the callback listens on every network interface of this machine; name this machine's own address or localhost in AMOCRM_REDIRECT_URI (and in the amoCRM integration), or pass --host deliberately`;
}

const UNSPECIFIED = new BlockList();
UNSPECIFIED.addAddress('0.0.0.0', 'ipv4');
UNSPECIFIED.addAddress('::', 'ipv6');

/**
 * The "any" address in every spelling a listener takes for it: 0.0.0.0 (and `0`, which URLs
 * normalise to it), ::, and the IPv4-mapped ::ffff:0.0.0.0 (a BlockList's IPv4 rule covers it).
 */
export function isUnspecifiedAddress(host: string): boolean {
  const family = isIP(host);
  if (family === 0) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  return UNSPECIFIED.check(host, type);
}

/** An amoCRM account host as the consent redirect names it (../shared/reference/amocrm-api.md, Hosts). */
const ACCOUNT_HOST = /^[a-z0-9-]+\.(amocrm\.(ru|com)|kommo\.com)$/;

/**
 * The account the person granted access to; amoCRM names it in `referer`. The code and the client
 * secret go only to an amoCRM host, and only to the configured account when one is configured:
 * a callback naming any other host is refused (it would receive the secret).
 */
export function accountUrl(configured: string | undefined, referer: string | undefined): string | undefined {
  if (!referer) return configured;
  const host = referer.trim().toLowerCase();
  if (configured && new URL(configured).host.toLowerCase() === host) return configured;
  if (!ACCOUNT_HOST.test(host)) {
    throw new ActionableError(
      `the authorisation callback names "${referer}", which is not an amoCRM account host (*.amocrm.ru, *.amocrm.com, *.kommo.com); nothing was sent to it — run \`ident-sync auth\` again from the URL it prints`,
      { exitCode: 2 },
    );
  }
  if (configured) {
    throw new ActionableError(
      `access was granted for ${host}, but the configuration names ${new URL(configured).host}; nothing was sent — fix AMOCRM_SUBDOMAIN / AMOCRM_DOMAIN or log in to the right account and run \`ident-sync auth\` again`,
      { exitCode: 2 },
    );
  }
  return `https://${host}`;
}

async function exchangeAndStore(
  config: Config,
  baseUrl: string,
  code: string,
  logger: Logger,
  out: (line: string) => void,
) {
  const http = new AmoHttp({
    baseUrl,
    timeoutMs: config.amocrm.timeoutMs,
    limiter: sharedLimiter(config.amocrm.rateLimitRps, config.stateDir),
    logger,
  });
  const endpoint = new OAuthEndpoint(http, {
    clientId: config.amocrm.clientId!,
    clientSecret: config.amocrm.clientSecret!,
    redirectUri: config.amocrm.redirectUri,
  });
  const store = new TokenStore(config.stateDir);
  // Again right before the exchange: the callback may have waited many minutes.
  store.assertWritable();
  const tokens = await endpoint.exchangeCode(code);
  store.write(tokens);
  const client = createAmoClient(
    { ...config.amocrm, baseUrl, longLivedToken: undefined },
    config.stateDir,
    logger,
  );
  const account = await client.account();
  out(`Authorised for the amoCRM account "${account.name}" (${baseUrl}).`);
  out(`Tokens stored in ${store.path} (readable by this user only); they are refreshed automatically.`);
  out('Next: `ident-sync fields` to check the contact fields.');
}
