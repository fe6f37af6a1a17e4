// Ed25519 keys for bundles, PEM files as `openssl genpkey -algorithm ed25519` writes them
// (PKCS#8 private, SPKI public), through node:crypto. Anything else is refused by name.

import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { BankforgeError } from '../../support/errors.js';
import { readRegularFile } from '../../support/regular-file.js';

/** A PEM key is a few hundred bytes; the limit keeps a wrong path (a device, a huge file) from being read whole. */
async function pem(path: string, what: string): Promise<string> {
  return (await readRegularFile(path, 64 * 1024, what)).toString('utf8');
}

function ed25519(key: KeyObject, path: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') throw new BankforgeError(`${path}: expected an Ed25519 key, found ${key.asymmetricKeyType ?? 'a symmetric key'}`);
  return key;
}

export async function loadPrivateKey(path: string): Promise<KeyObject> {
  const text = await pem(path, 'signing key');
  try {
    return ed25519(createPrivateKey(text), path);
  } catch (e) {
    if (e instanceof BankforgeError) throw e;
    throw new BankforgeError(`${path}: not a PEM private key (${(e as Error).message})`);
  }
}

/** A public key PEM; a private key PEM is accepted too (its public half is used). */
export async function loadPublicKey(path: string): Promise<KeyObject> {
  const text = await pem(path, 'public key');
  try {
    return ed25519(createPublicKey(text), path);
  } catch (e) {
    if (e instanceof BankforgeError) throw e;
    throw new BankforgeError(`${path}: not a PEM public key (${(e as Error).message})`);
  }
}

export function signBytes(key: KeyObject, data: Buffer): Buffer {
  return sign(null, data, key);
}

export function verifyBytes(key: KeyObject, data: Buffer, signature: Buffer): boolean {
  return verify(null, data, key, signature);
}
