// The entry of every greenloop worker thread (see worker-boot.ts).
// Plain JavaScript on purpose: it must load before any TypeScript support.
// When the application's modules are TypeScript run with tsx, tsx's loader
// is registered in this thread first; then the worker runtime is imported.
import { workerData } from 'node:worker_threads';

if (workerData.tsxApiUrl !== null) {
  const { register } = await import(workerData.tsxApiUrl);
  register();
}
await import(workerData.runtimeUrl);
