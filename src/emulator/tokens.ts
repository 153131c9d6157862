/**
 * The emulator's access and refresh tokens carry their own grant (kind, user, app, scope,
 * expiry), sealed under a key made when the emulator starts, so it keeps nothing per token:
 * a long-running emulator's memory does not grow with the number of logins. On the wire they
 * are 32 lower-case hex characters, as DingTalk's are.
 *
 * Flow: grant → 16-byte block (kind and scope flag, app, user, expiry, serial, zero) → AES-128
 * of that one block → hex; opening reverses it and refuses anything that does not decode to a
 * grant (another run's token, an altered one, a guess). The expiry is the caller's to check.
 *
 * A token names one of at most MAX_SEALED_USERS users and MAX_SEALED_CLIENTS apps
 * (startEmulator refuses more); the serial repeats only after 2^32 tokens.
 *
 * One block encrypted alone is a keyed permutation of 16 bytes, which is what sealing needs:
 * the serial makes every block distinct, so no two tokens share a ciphertext. One cipher and
 * one decipher serve every token (ECB keeps no state between blocks, and without padding
 * `update()` answers each block at once), so sealing allocates no native object per token.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export type TokenKind = 'access' | 'refresh';

export interface SealedGrant {
  kind: TokenKind;
  /** Index of the user in the emulator's user list (below MAX_SEALED_USERS). */
  userIndex: number;
  /** Index of the app in the emulator's app list (below MAX_SEALED_CLIENTS). */
  clientIndex: number;
  /** The grant's scope included `corpid`. */
  corpId: boolean;
  /** Milliseconds since the epoch; the token is valid up to and including this instant. */
  expiresAt: number;
}

export interface TokenSealer {
  /** A fresh token for the grant (never the same twice). */
  seal(grant: SealedGrant): string;
  /** The grant a token carries, or undefined when it is not one of this sealer's tokens. */
  open(token: string): SealedGrant | undefined;
}

/** Users and apps a token can name (two and one bytes of the block). */
export const MAX_SEALED_USERS = 0x10000;
export const MAX_SEALED_CLIENTS = 0x100;

const KINDS: readonly TokenKind[] = ['access', 'refresh'];
const CORP_ID = 0x10;
const TOKEN = /^[0-9a-f]{32}$/;

/**
 * A sealer with its own random key (or `key`, 16 bytes, for tests). The block: kind and the
 * corpid flag (1 byte), app (1), user (2), expiry in ms (6), serial (4), zero (2).
 */
export function createTokenSealer(key: Buffer = randomBytes(16)): TokenSealer {
  const cipher = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  const decipher = createDecipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  let serial = 0;
  return {
    seal(grant) {
      const block = Buffer.alloc(16);
      block[0] = (KINDS.indexOf(grant.kind) + 1) | (grant.corpId ? CORP_ID : 0);
      block.writeUInt8(grant.clientIndex, 1);
      block.writeUInt16BE(grant.userIndex, 2);
      block.writeUIntBE(grant.expiresAt, 4, 6);
      block.writeUInt32BE(serial, 10);
      serial = (serial + 1) >>> 0;
      return cipher.update(block).toString('hex');
    },
    open(token) {
      if (!TOKEN.test(token)) return undefined;
      const block = decipher.update(Buffer.from(token, 'hex'));
      const kind = KINDS[(block[0]! & ~CORP_ID) - 1];
      // A random block passes these with a chance of 1 in 2^22; the caller also checks the
      // indexes against its lists and the expiry against its clock.
      if (kind === undefined || block.readUInt16BE(14) !== 0) return undefined;
      return {
        kind,
        corpId: (block[0]! & CORP_ID) !== 0,
        clientIndex: block[1]!,
        userIndex: block.readUInt16BE(2),
        expiresAt: block.readUIntBE(4, 6),
      };
    },
  };
}
