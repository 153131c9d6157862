/**
 * The emulator's HTTP plumbing shared by routes.ts and pages.ts: JSON answers, DingTalk's error
 * shape, HTML pages, and reading request bodies. Holds no state.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { page, PAGE_HEADERS } from '../net/html.js';

const MAX_BODY = 64 * 1024;

export function sendJson(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json;charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** DingTalk's error shape: `{requestid, code, message}` with a string code. */
export function apiError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
): void {
  sendJson(res, status, { requestid: randomUUID().toUpperCase(), code, message, ...extra });
}

export function sendPage(res: ServerResponse, status: number, title: string, body: string): void {
  res.writeHead(status, PAGE_HEADERS);
  res.end(page(title, body));
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The request's media type is exactly `application/json` (parameters such as charset allowed). */
export function isJsonType(req: IncomingMessage): boolean {
  const type = req.headers['content-type'] ?? '';
  return type.split(';')[0]!.trim().toLowerCase() === 'application/json';
}

/**
 * Parses a JSON body the way DingTalk's gateway does: anything else has no fields. The media
 * type must be `application/json` itself, not merely mention it (`text/plain;
 * application/json` is a type a browser sends cross-origin without asking).
 */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  if (!isJsonType(req)) return {};
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
