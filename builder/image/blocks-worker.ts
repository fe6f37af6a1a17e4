// Worker-thread entry for blocks.ts: hashes the pieces it is given and posts their digests.

import { parentPort, workerData } from 'node:worker_threads';
import { hashPieces, type HashPiecesJob } from './blocks.js';

parentPort!.postMessage(await hashPieces(workerData as HashPiecesJob));
