// `parley`: the command line. Each subcommand is filled by its issue; until then it says so.

export async function main(argv: readonly string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'serve':
      process.stderr.write(
        'parley serve: the server is not built yet (see issue 5). Nothing is running.\n',
      );
      return 1;
    case undefined:
    case '--help':
    case 'help':
      process.stdout.write('usage: parley <command>\n\ncommands:\n  serve    start a Parley server (not built yet)\n');
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`parley: unknown command '${command}'\n`);
      return 2;
  }
}
