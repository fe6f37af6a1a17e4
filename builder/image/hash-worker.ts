// Worker-thread entry for hash.ts: hashes the regions it is given and posts the hex digests.

import { parentPort, workerData } from 'node:worker_threads';
import { hashRegions, type HashJob } from './hash.js';

parentPort!.postMessage(await hashRegions(workerData as HashJob));
