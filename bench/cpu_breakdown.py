#!/usr/bin/python3
"""Where a benchmark transaction's CPU goes, from `perf script` output.

    perf record -a -F HZ --call-graph dwarf -o DATA -- sleep SECONDS
    perf script -i DATA -F comm,ip,sym | bench/cpu_breakdown.py \
        --transactions N --seconds S --cpus C FUNCTION...

Every sample stands for the same slice of machine time (all CPUs, whether
they ran a backend, pgbench or nothing), so the samples whose call stack
contains a function, over the transactions run while perf recorded, give
the machine time spent under that function per transaction.  A function
counts once per sample however often it appears in the stack, and names
match as substrings (inlined frames carry the caller's name as well).
Prints one line per function, "FUNCTION MICROSECONDS", then "all" and the
machine time per transaction.
"""

import argparse
import sys


def stacks(lines):
    """The call stacks of perf script's output, leaf first, as lists of symbols."""
    stack = []
    for line in lines:
        if not line.startswith(("\t", " ")):
            if stack:
                yield stack
            stack = []
            continue
        fields = line.split(None, 1)
        if fields:
            stack.append(fields[1].strip() if len(fields) > 1 else "?")
    if stack:
        yield stack


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=float, required=True,
                        help="transactions run while perf recorded")
    parser.add_argument("--seconds", type=float, required=True, help="how long perf recorded")
    parser.add_argument("--cpus", type=int, required=True, help="CPUs perf sampled")
    parser.add_argument("functions", nargs="+")
    args = parser.parse_args()

    total = 0
    under = dict.fromkeys(args.functions, 0)
    for stack in stacks(sys.stdin):
        total += 1
        for function in args.functions:
            if any(function in frame for frame in stack):
                under[function] += 1
    if total == 0 or args.transactions <= 0:
        sys.exit("no samples, or no transactions")
    per_sample_us = args.seconds * args.cpus * 1e6 / total
    for function in args.functions:
        print(f"{function} {under[function] * per_sample_us / args.transactions:.2f}")
    print(f"all {total * per_sample_us / args.transactions:.2f}")


if __name__ == "__main__":
    main()
