#!/usr/bin/env node
/** The `cc-ci` command. */
process.stderr.write('cc-ci: not built yet\n');
process.exit(2);
