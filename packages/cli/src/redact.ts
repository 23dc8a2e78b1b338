import { redactUrl } from '@switchyard/core';

/** A URL in running text: scheme, `://`, then everything up to whitespace, a quote or a bracket. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`()]+/gi;

/**
 * Removes the password of every URL in a line the CLI prints (core's redactUrl on each), so a
 * password never reaches a terminal, a log or a CI transcript — whether it came from --redis, from
 * SWITCHYARD_REDIS_URL, or from a value someone stored in Redis.
 */
export function redactUrls(text: string): string {
  return text.includes('://') ? text.replace(URL_IN_TEXT, (url) => redactUrl(url)) : text;
}
