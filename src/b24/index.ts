/** The Bitrix24 REST client: public surface of `src/b24`. */
export * from './allowList.js';
export * from './client.js';
export * from './clock.js';
export * from './errors.js';
export * from './fromConfig.js';
export * from './oauth.js';
export * from './query.js';
export * from './rateLimiter.js';
export * from './redact.js';
export * from './retry.js';
export * from './schemas.js';
export * from './tokens.js';
export * from './tokenStore.js';
export * from './transport.js';
export * from './types.js';
