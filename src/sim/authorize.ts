/**
 * The portal's `/oauth/authorize/?client_id=…` page, the start of a first authorization: the
 * real page asks a logged-in user to consent; here consent is given at once (by the portal's
 * `consent` setting: an administrator by default) and the page redirects (302) to the app's
 * handler URL with `code`, `domain`, `member_id`, `scope`, `server_domain` (and `state` when
 * given). The code lives 30 s and serves once at the OAuth server's token endpoint.
 */
import type { OAuthReply } from './oauth.js';
import { phpString } from './params.js';

/** What the redirect carries to the app's handler. */
export interface AuthorizationRedirect {
  readonly code: string;
  /** The portal's domain. */
  readonly domain: string;
  readonly member_id: string;
  readonly scope: string;
  /** Host (and port) of the OAuth server: its token endpoint is `http://<server_domain>/oauth/token/`. */
  readonly server_domain: string;
}

/** What the page needs of the portal. */
export interface AuthorizePageHost {
  readonly clientId: string;
  /** The app's handler URL (its `redirect_uri`); null: the page has nowhere to send the code. */
  readonly handlerUrl: string | null;
  issueAuthorizationCode(): AuthorizationRedirect;
}

function page(status: number, text: string): OAuthReply {
  return { kind: 'html', status, body: `<html><body><p>${text}</p></body></html>` };
}

export function authorizePage(
  host: AuthorizePageHost,
  params: Readonly<Record<string, unknown>>,
): OAuthReply {
  const clientId = phpString(params['client_id']).trim();
  if (clientId === '' || clientId !== host.clientId) {
    return page(400, 'Application not found: check client_id.');
  }
  if (host.handlerUrl === null) {
    return page(400, 'The application has no handler URL to send the authorization to.');
  }
  const redirect = host.issueAuthorizationCode();
  const target = new URL(host.handlerUrl);
  for (const [key, value] of Object.entries(redirect)) target.searchParams.set(key, String(value));
  const state = phpString(params['state']);
  if (state !== '') target.searchParams.set('state', state);
  return { kind: 'redirect', location: target.toString() };
}
