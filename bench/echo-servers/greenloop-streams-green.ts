/**
 * The streams echo server (greenloop-streams.ts) in a program that also loads
 * greenloop/green but never uses it: what loading the green side costs code
 * that stays async (bench/bridge-idle.ts).
 */
import 'greenloop/green';
import './greenloop-streams.js';
