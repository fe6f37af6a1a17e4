// Names for files written in full and then renamed into place. The process id keeps two
// processes apart; the counter keeps two writes of one process apart (tests and library users
// build or bundle to the same path concurrently).

let next = 0;

export function partialPath(path: string): string {
  return `${path}.partial-${process.pid}-${next++}`;
}
