import { createFakeRunner } from './fake.ts';
import { runSandboxConformance } from './conformance.ts';

runSandboxConformance('fake', { create: createFakeRunner });
