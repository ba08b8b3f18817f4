/**
 * vitest setupFiles: after every test file, no child process it started is left running, even
 * when a test failed or timed out before its own kill (a daemon left behind outlived the run).
 */
import { afterAll } from 'vitest';
import { killLeftoverProcesses } from '../helpers/processes.js';

afterAll(killLeftoverProcesses);
