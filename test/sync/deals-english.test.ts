import { useSystemStages } from '../helpers/amocrm.ts';

// The deal suite against a kommo.com / amocrm.com account: its system stages are "Closed - won",
// "Closed - lost" and "Incoming leads", while the deal map names won and lost by keyword.
useSystemStages('english');
await import('./deals.test.ts');
