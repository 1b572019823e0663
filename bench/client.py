#!/usr/bin/python3
"""The client side of bench/run.sh's sections 12-14: what an application
sees of leases, semaphores and named locks over the Unix socket, from
Python (psycopg 3; Redis through redis-py).  It measures and prints raw
samples, one "label value" a line; bench/run.sh makes the figures.

  client.py pairs --kinds lease,lock,builtin,redis --rounds R --pairs N [--redis SOCKET] [--driver psycopg2]
      R interleaved rounds of N acquire+release pairs of each kind, in one
      autocommit connection (one Redis connection for redis), the order
      reversed in every other round: "pairs_KIND milliseconds" per round.
      --driver psycopg2 runs the PostgreSQL kinds through psycopg2 (C)
      instead of psycopg 3, whose Debian build wraps libpq in pure Python.
  client.py expiry --waiter lease|lock --rounds R [--ttl-ms 50]
      a holder takes an exclusive lease for ttl and does not renew; a
      waiter already queued for the name is granted when it expires:
      "expiry_WAITER milliseconds" per round, the waiter's clock_timestamp()
      once granted minus the expiry named_leases showed.
  client.py crowd --method semaphore|keys --requesters 100 --permits 4 --hold-ms 20 --each K
      each requester (a thread with a connection of its own) takes a
      permit K times and holds it hold-ms: named_semaphore_acquire, or the
      workaround of trying permits integer keys in turn and sleeping
      --retry-ms between tries.  Prints "crowd_METHOD_longest ms",
      "crowd_METHOD_median ms" (waits) and "crowd_METHOD_rate grants/s".

The connection comes from the libpq environment (PGHOST, PGPORT, ...).
"""
import argparse
import sys
import threading
import time

import psycopg

NAMES = ["bench-a", "bench-b", "bench-c", "bench-d"]	# "a few names", in turn
KEYS = [20261201, 20261202, 20261203, 20261204]	# the builtins' keys, in turn
LEASE_TTL = "30 s"
REDIS_TTL_MS = 30000
# Redis's single-instance lock: SET NX PX, released by a compare-and-delete
RELEASE_LUA = """
if redis.call("get", KEYS[1]) == ARGV[1] then
	return redis.call("del", KEYS[1])
else
	return 0
end
"""


def connect(driver="psycopg"):
	if driver == "psycopg2":
		import psycopg2
		conn = psycopg2.connect("")
		conn.autocommit = True
		return conn
	return psycopg.connect("", autocommit=True)


def one(cur, sql, params=()):
	cur.execute(sql, params)
	return cur.fetchone()[0]


def pair_runners(kinds, redis_socket, driver):
	"""kind -> function(count) running count acquire+release pairs."""
	conn = connect(driver)
	cur = conn.cursor()
	runners = {}

	def lease(count):
		for i in range(count):
			name = NAMES[i % len(NAMES)]
			token = one(cur, "SELECT named_lease_exclusive(%s::text, '" + LEASE_TTL + "')", (name,))
			assert token is not None, "lease not granted"
			assert one(cur, "SELECT named_lease_release(%s::text, %s::bigint)", (name, token))

	def lock(count):
		for i in range(count):
			name = NAMES[i % len(NAMES)]
			one(cur, "SELECT named_lock_exclusive(%s::text)", (name,))
			assert one(cur, "SELECT named_unlock_exclusive(%s::text)", (name,))

	def builtin(count):
		for i in range(count):
			key = KEYS[i % len(KEYS)]
			one(cur, "SELECT pg_advisory_lock(%s::bigint)", (key,))
			assert one(cur, "SELECT pg_advisory_unlock(%s::bigint)", (key,))

	def semaphore(count):
		# one permit of a semaphore of capacity 4, the session's (no ttl)
		for i in range(count):
			name = NAMES[i % len(NAMES)]
			token = one(cur, "SELECT named_semaphore_acquire(%s::text, 4)", (name,))
			assert token is not None, "permit not granted"
			assert one(cur, "SELECT named_semaphore_release(%s::text, %s::bigint)", (name, token))

	runners = {"lease": lease, "lock": lock, "builtin": builtin, "semaphore": semaphore}
	if "redis" in kinds:
		import redis
		r = redis.Redis(unix_socket_path=redis_socket)
		release = r.register_script(RELEASE_LUA)
		tag = "%d:" % threading.get_native_id()

		def redis_recipe(count):
			for i in range(count):
				key = NAMES[i % len(NAMES)]
				value = tag + str(i)
				assert r.set(key, value, nx=True, px=REDIS_TTL_MS), "redis lock not granted"
				assert release(keys=[key], args=[value]) == 1

		runners["redis"] = redis_recipe
	return {kind: runners[kind] for kind in kinds}


def pairs(args):
	kinds = args.kinds.split(",")
	runners = pair_runners(kinds, args.redis, args.driver)
	for kind in kinds:	# warm up: prepared statements, the registered script
		runners[kind](max(50, args.pairs // 10))
	for r in range(1, args.rounds + 1):
		order = kinds if r % 2 else kinds[::-1]
		for kind in order:
			t0 = time.perf_counter()
			runners[kind](args.pairs)
			print("pairs_%s %.3f" % (kind, (time.perf_counter() - t0) * 1000), flush=True)


def expiry(args):
	name = "bench-expiry"
	holder = connect().cursor()
	waiter_conn = connect()
	waiter = waiter_conn.cursor()
	waiter_pid = one(waiter, "SELECT pg_backend_pid()")
	# granted: the clock is read once the call returns (the subquery's
	# column is computed first), and what was granted is given back
	if args.waiter == "lease":
		wait_sql = ("SELECT t, clock_timestamp() FROM (SELECT named_lease_exclusive(%s::text, '10 s', '1 s') AS t OFFSET 0) s")
		give_back = "SELECT named_lease_release(%s::text, %s::bigint)"
	else:
		wait_sql = ("SELECT g, clock_timestamp() FROM (SELECT named_lock_exclusive(%s::text, '1 s') AS g OFFSET 0) s")
		give_back = "SELECT named_unlock_exclusive(%s::text)"
	late = 0
	for r in range(args.rounds):
		holder.execute(
			"SELECT t, (SELECT expires FROM named_leases WHERE token = t) FROM "
			"(SELECT named_lease_exclusive(%s::text, make_interval(secs => %s::float8 / 1000)) AS t OFFSET 0) s",
			(name, args.ttl_ms))
		token, expires = holder.fetchone()
		assert token is not None and expires is not None, "the holder's lease was not granted"
		result = {}

		def wait():
			waiter.execute(wait_sql, (name,))
			result["granted"], result["at"] = waiter.fetchone()

		thread = threading.Thread(target=wait)
		thread.start()
		# queued: waiting on its latch (wait event type Extension) while the lease still runs
		queued = False
		while thread.is_alive():
			holder.execute("SELECT wait_event_type = 'Extension', clock_timestamp() < %s FROM pg_stat_activity "
						   "WHERE pid = %s", (expires, waiter_pid))
			waiting, before_expiry = holder.fetchone()
			if waiting:
				queued = before_expiry
				break
			time.sleep(0.001)
		thread.join()
		granted = result["granted"]
		assert granted is not None and granted is not False, "the waiter was not granted within 1 s"
		if args.waiter == "lease":
			one(waiter, give_back, (name, granted))
		else:
			one(waiter, give_back, (name,))
		if not queued:
			late += 1	# the waiter came after the expiry: not a sample
			continue
		print("expiry_%s %.3f" % (args.waiter, (result["at"] - expires).total_seconds() * 1000), flush=True)
	if late:
		print("expiry_%s_late %d" % (args.waiter, late), flush=True)


def crowd(args):
	hold = args.hold_ms / 1000
	retry = args.retry_ms / 1000
	name = "bench-crowd"
	base = 20261300
	conns = [connect() for _ in range(args.requesters)]
	barrier = threading.Barrier(args.requesters + 1)
	waits = []
	ends = []
	failures = []
	lock = threading.Lock()

	def requester(conn):
		cur = conn.cursor()
		mine = []
		barrier.wait()
		for _ in range(args.each):
			t0 = time.perf_counter()
			if args.method == "semaphore":
				token = one(cur, "SELECT named_semaphore_acquire(%s::text, %s, wait => '60 s')", (name, args.permits))
				if token is None:
					with lock:
						failures.append(1)
					return
				mine.append(time.perf_counter() - t0)
				time.sleep(hold)
				one(cur, "SELECT named_semaphore_release(%s::text, %s::bigint)", (name, token))
			else:
				# the workaround: keys base+1..base+permits tried in turn in one
				# statement, then a short sleep before trying again
				while True:
					cur.execute("SELECT k FROM generate_series(1, %s) k WHERE pg_try_advisory_lock(%s::bigint + k) LIMIT 1",
								(args.permits, base))
					row = cur.fetchone()
					if row is not None:
						break
					time.sleep(retry)
				mine.append(time.perf_counter() - t0)
				time.sleep(hold)
				one(cur, "SELECT pg_advisory_unlock(%s::bigint + %s)", (base, row[0]))
		with lock:
			waits.extend(mine)
			ends.append(time.perf_counter())

	threads = [threading.Thread(target=requester, args=(c,)) for c in conns]
	for t in threads:
		t.start()
	barrier.wait()
	start = time.perf_counter()
	for t in threads:
		t.join()
	for c in conns:
		c.close()
	if failures:
		sys.exit("crowd: %d requesters were not granted a permit within 60 s" % len(failures))
	waits.sort()
	grants = len(waits)
	print("crowd_%s_longest %.1f" % (args.method, waits[-1] * 1000))
	print("crowd_%s_median %.1f" % (args.method, waits[grants // 2] * 1000))
	print("crowd_%s_rate %.1f" % (args.method, grants / (max(ends) - start)))


def main():
	parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
	sub = parser.add_subparsers(dest="command", required=True)
	p = sub.add_parser("pairs")
	p.add_argument("--kinds", required=True)
	p.add_argument("--rounds", type=int, default=5)
	p.add_argument("--pairs", type=int, default=1000)
	p.add_argument("--redis", help="redis-server's Unix socket")
	p.add_argument("--driver", choices=["psycopg", "psycopg2"], default="psycopg")
	p.set_defaults(run=pairs)
	p = sub.add_parser("expiry")
	p.add_argument("--waiter", choices=["lease", "lock"], required=True)
	p.add_argument("--rounds", type=int, default=20)
	p.add_argument("--ttl-ms", type=int, default=50)
	p.set_defaults(run=expiry)
	p = sub.add_parser("crowd")
	p.add_argument("--method", choices=["semaphore", "keys"], required=True)
	p.add_argument("--requesters", type=int, default=100)
	p.add_argument("--permits", type=int, default=4)
	p.add_argument("--hold-ms", type=float, default=20)
	p.add_argument("--retry-ms", type=float, default=10)
	p.add_argument("--each", type=int, default=1)
	p.set_defaults(run=crowd)
	args = parser.parse_args()
	args.run(args)


if __name__ == "__main__":
	main()
