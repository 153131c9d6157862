/**
 * Shapes of muvee's identifiers, pure and dependency-free (so `users` need not load
 * jsonwebtoken just to tell an id from an email).
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

export function isEmail(value: unknown): value is string {
  return typeof value === 'string' && EMAIL.test(value);
}
