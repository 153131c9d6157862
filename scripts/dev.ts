// `npm run dev -- <command> ...`: the CLI straight from src/ (tsx), no build needed.
import { main } from '../src/cli.ts';

await main(process.argv);
