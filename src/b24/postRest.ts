/**
 * One REST call over HTTP: the method's parameters and the access token POSTed as JSON, the
 * answer's JSON object back, or the typed error of the exchange or of the answer.
 */
import { answerOrError } from './answerOrError.js';
import { exchangeJson, type TransportOptions } from './httpExchange.js';

/**
 * POSTs `{...params, auth}` as JSON to `${restUrl}${method}` and returns the answer's JSON
 * object, or throws what `exchangeJson` and `answerOrError` throw.
 */
export async function postRest(
  restUrl: string,
  method: string,
  params: Readonly<Record<string, unknown>>,
  auth: string,
  options: TransportOptions,
  signal?: AbortSignal,
): Promise<Record<string, unknown>> {
  const answer = await exchangeJson(
    {
      url: `${restUrl}${method}`,
      httpMethod: 'POST',
      body: JSON.stringify({ ...params, auth }),
      label: method,
      secrets: [auth],
    },
    options,
    signal,
  );
  return answerOrError(method, answer, [auth]);
}
