// `npm run dev -- <command> ...`: the CLI straight from src/ (tsx), no build needed.
import { main } from '../src/main.ts';

await main(process.argv);
