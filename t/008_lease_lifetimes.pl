# How long leases and semaphore permits live, and what their tokens do
# across the server's life: a restart takes every lease with it; a crash
# takes what sessions held and leaves what roles hold with a ttl, through
# the lease ledger; the tokens after either are larger; a session that is
# terminated takes its bound leases and its session permits, not the
# others; a ledger a backend cannot write is withdrawn rather than bring a
# released lease back; a promoted standby gives tokens larger than every
# token the old primary gave.
#
# Runs preloaded (PostgreSQL 15 needs it for leases), and on 17 and later
# also without, where the lease table is a DSM segment.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# One session's output as a scalar, errors fatal.
sub q1
{
	my ($node, $sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

sub epoch_in_file
{
	my ($node) = @_;
	return PostgreSQL::Test::Utils::slurp_file($node->data_dir . '/advlock_named.epoch') + 0;
}

# The server answers again after a crash restart.
sub wait_for_restart
{
	my ($node) = @_;
	$node->poll_query_until('postgres', 'SELECT 1', '1')
	  or die "the server did not come back";
}

# The unbound lease renews from another session; the bound one is gone, its name free at once.
sub unbound_kept_bound_gone
{
	my ($node, $label, $unbound_name, $unbound, $bound_name, $bound) = @_;

	is(q1($node, "SELECT named_lease_renew('$unbound_name', $unbound, '1 hour')"),
		't', "$label: another session renews the unbound lease");
	is(q1($node, "SELECT named_lease_renew('$bound_name', $bound, '1 hour')"),
		'f', "$label: the bound lease went with its session");
	is(q1($node, "SELECT named_lease_exclusive('$bound_name', '1 hour') IS NOT NULL"),
		't', "$label: and its name is free at once");
}

sub lifetimes
{
	my ($node, $label) = @_;

	# a restart: the lease is gone, renew says so, new tokens are larger
	my $before = q1($node, "SELECT named_lease_exclusive('restart', '1 hour')");
	ok($before > 0, "$label: a lease is granted");
	my $epoch = epoch_in_file($node);
	$node->restart;
	is(q1($node, 'SELECT count(*) FROM named_leases'), '0', "$label: a restart takes every lease");
	is(q1($node, "SELECT named_lease_renew('restart', $before, '1 hour')"),
		'f', "$label: renew after a restart says the lease is gone");
	my $after = q1($node, "SELECT named_lease_exclusive('restart', '1 hour')");
	cmp_ok($after, '>', $before, "$label: the first token after a restart is larger");
	cmp_ok(epoch_in_file($node), '>', $epoch, "$label: its epoch was made durable first");
	q1($node, "SELECT named_lease_release('restart', $after)");

	# a crash (a backend killed with SIGKILL: every backend restarts and the
	# shared memory is made anew): what a role owns with a ttl outlives it,
	# as it would outlive the session; what a session owned goes with it
	my $holder = $node->background_psql('postgres');
	my $bound = $holder->query_safe("SELECT named_lease_exclusive('crash-bound', '1 hour', '0', true)");
	my $unbound = $holder->query_safe("SELECT named_lease_exclusive('crash', '1 hour')");
	my $shared = $holder->query_safe("SELECT named_lease_shared('crash-shared', '1 hour')");
	$holder->query_safe("SELECT named_lease_renew('crash-shared', $shared, '2 hours')");
	my $permits = $holder->query_safe("SELECT named_semaphore_acquire('crash-slots', 3, '1 hour', permits => 2)");
	$holder->query_safe("SELECT named_semaphore_acquire('crash-session-slots', 3)");
	my $released = $holder->query_safe("SELECT named_lease_exclusive('crash-released', '1 hour')");
	$holder->query_safe("SELECT named_lease_release('crash-released', $released)");
	my $before_crash = q1($node,
		"SELECT string_agg(format('%s %s %s %s %s', name, mode, token, renewals, expires), ',' ORDER BY name) "
		  . "FROM named_leases WHERE name IN ('crash', 'crash-shared')");
	my $pid = $holder->query_safe('SELECT pg_backend_pid()');
	my $log_offset = -s $node->logfile;
	kill 'KILL', $pid;
	wait_for_restart($node);
	# first, before any lease function could bring the table back
	is(q1($node, "SELECT named_try_lock_shared('crash')"), 'f',
		"$label: after a crash a lock still waits for the lease that outlived it");
	is(q1($node, "SELECT string_agg(name, ',' ORDER BY name) FROM named_leases"),
		'crash,crash-shared,crash-slots',
		"$label: the leases and ttl permits outlive a crash; the bound lease, the session's permits and the released lease do not");
	is(q1($node,
		"SELECT string_agg(format('%s %s %s %s %s', name, mode, token, renewals, expires), ',' ORDER BY name) "
		  . "FROM named_leases WHERE name IN ('crash', 'crash-shared')"),
		$before_crash, "$label: each with its mode, token, renewals and expiry");
	is(q1($node, "SELECT permits FROM named_leases WHERE name = 'crash-slots'"), '2',
		"$label: the permits with their count");
	like(slurp_file($node->logfile, $log_offset), qr/3 leases and semaphore grants outlived the crash/,
		"$label: the log says how many outlived it");
	unbound_kept_bound_gone($node, "$label, after a crash", 'crash', $unbound, 'crash-bound', $bound);
	is(q1($node, "BEGIN; SELECT named_lease_check('crash', $unbound); COMMIT;"),
		'', "$label: the fence takes the token of a lease that outlived a crash");
	cmp_ok(q1($node, "SELECT named_lease_exclusive('crash-new', '1 hour')"),
		'>', $released, "$label: the first token after a crash is larger than any before");
	is(q1($node, "SELECT named_semaphore_release('crash-slots', $permits)"), 't',
		"$label: the permits are released as any");
	$holder->{run}->kill_kill;
	# a restart, unlike a crash, ends them
	$node->restart;
	is(q1($node, 'SELECT count(*) FROM named_leases'), '0',
		"$label: a restart after the crash takes every lease");
	is(q1($node, "SELECT named_try_lock_exclusive('crash')"), 't', "$label: and leaves the name free");
	$unbound = q1($node, "SELECT named_lease_exclusive('crash', '1 hour')");

	# a terminated session: its bound lease and its permits go at once, not the others
	$holder = $node->background_psql('postgres');
	$bound = $holder->query_safe("SELECT named_lease_exclusive('bound', '1 hour', '0', true)");
	$unbound = $holder->query_safe("SELECT named_lease_exclusive('unbound', '1 hour')");
	$holder->query_safe("SELECT named_semaphore_acquire('slots', 1)");
	$holder->query_safe("SELECT named_semaphore_acquire('lease-slots', 1, '1 hour')");
	$pid = $holder->query_safe('SELECT pg_backend_pid()');
	my $waiter = $node->background_psql('postgres');
	$waiter->query_until(qr/waiting/,
		"\\echo waiting\nSELECT named_semaphore_acquire('slots', 1, wait => '1 min') IS NOT NULL AS granted;\n");
	$node->poll_query_until('postgres', "SELECT waiters = 1 FROM named_semaphores WHERE name = 'slots'")
	  or die "the waiter never queued";
	q1($node, "SELECT pg_terminate_backend($pid)");
	$node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid")
	  or die "the session did not end";
	like($waiter->query_until(qr/t/, ''), qr/t/,
		"$label: the waiter gets the permits the terminated session held");
	is(q1($node, "SELECT string_agg(name, ',' ORDER BY name) FROM named_leases WHERE roleid = "
		  . "(SELECT oid FROM pg_roles WHERE rolname = current_user) AND name <> 'slots'"),
		'crash,lease-slots,unbound',
		"$label: a lease bound to no session, and permits with a ttl, outlive it");
	unbound_kept_bound_gone($node, "$label, after a terminated session", 'unbound', $unbound, 'bound', $bound);
	$waiter->quit;
	$holder->{run}->kill_kill;
	q1($node, "SELECT named_lease_release(name, token) FROM named_leases");
}

# Permits granted to a waiter that is terminated before it wakes to take
# them go back with its session, not after their ttl: the waiter is stopped
# (SIGSTOP) while the release grants them, then terminated.
sub granted_to_a_terminated_waiter
{
	my ($node, $label) = @_;

	my $token = q1($node, "SELECT named_semaphore_acquire('handed', 1, '1 hour')");
	my $waiter = $node->background_psql('postgres');
	my $pid = $waiter->query_safe('SELECT pg_backend_pid()');
	$waiter->query_until(qr/waiting/,
		"\\echo waiting\nSELECT named_semaphore_acquire('handed', 1, '1 hour', wait => '1 min');\n");
	$node->poll_query_until('postgres', "SELECT waiters = 1 FROM named_semaphores WHERE name = 'handed'")
	  or die "the waiter never queued";
	kill 'STOP', $pid;
	is(q1($node, "SELECT named_semaphore_release('handed', $token)"), 't', "$label: the permit is released");
	is(q1($node, "SELECT count(*) FROM named_leases WHERE name = 'handed'"), '1',
		"$label: and granted to the stopped waiter");
	q1($node, "SELECT pg_terminate_backend($pid)");
	kill 'CONT', $pid;
	$node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid")
	  or die "the waiter did not end";
	is(q1($node, "SELECT count(*) FROM named_leases WHERE name = 'handed'"), '0',
		"$label: a permit granted to a waiter terminated before it took it goes back with its session");
	$waiter->{run}->kill_kill;
}

# A ledger a backend cannot write to is withdrawn, so that a release it
# could not record cannot bring its lease back after a crash; the table
# built after the crash writes a new one.
sub withdrawn_ledger
{
	my ($node, $label) = @_;
	my $ledger = $node->data_dir . '/advlock_named.leases';

	my $holder = $node->background_psql('postgres');
	my $token = $holder->query_safe("SELECT named_lease_exclusive('ghost', '1 hour')");
	$holder->query_safe("SELECT named_lease_exclusive('taken-before', '1 hour')");
	chmod 0400, $ledger or die "chmod $ledger: $!";
	my $log_offset = -s $node->logfile;
	is(q1($node, "SELECT named_lease_release('ghost', $token)"),
		't', "$label: a session that cannot write the ledger still releases");
	like(slurp_file($node->logfile, $log_offset), qr/could not write the lease ledger.*\n.*The ledger is withdrawn/,
		"$label: the log says the ledger is withdrawn");
	ok(!-e $ledger, "$label: and it is gone from the data directory");
	my $pid = $holder->query_safe('SELECT pg_backend_pid()');
	kill 'KILL', $pid;
	wait_for_restart($node);
	is(q1($node, "SELECT named_try_lock_exclusive('ghost')"), 't',
		"$label: after a crash the released lease does not come back");
	is(q1($node, 'SELECT count(*) FROM named_leases'), '0',
		"$label: nor do the others: without a ledger a crash takes every lease");
	$holder->{run}->kill_kill;

	# the table built again writes a new ledger, which the next crash reads
	my $resumed = q1($node, "SELECT named_lease_exclusive('resumed', '1 hour')");
	ok(-e $ledger, "$label: the table built after the crash writes a new ledger");
	$holder = $node->background_psql('postgres');
	$pid = $holder->query_safe('SELECT pg_backend_pid()');
	kill 'KILL', $pid;
	wait_for_restart($node);
	is(q1($node, "SELECT string_agg(format('%s %s', name, token), ',') FROM named_leases"),
		"resumed $resumed", "$label: and a lease outlives the next crash again");
	$holder->{run}->kill_kill;
	q1($node, "SELECT named_lease_release(name, token) FROM named_leases");
}

my $node = PostgreSQL::Test::Cluster->new('preloaded');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'advlock_named'\nrestart_after_crash = on");
$node->start;
q1($node, 'CREATE EXTENSION advlock_named');
lifetimes($node, 'preloaded');
granted_to_a_terminated_waiter($node, 'preloaded');
withdrawn_ledger($node, 'preloaded');
$node->stop;

if ($node->pg_version >= 17)
{
	my $dsm = PostgreSQL::Test::Cluster->new('dsm');
	$dsm->init;
	$dsm->append_conf('postgresql.conf', 'restart_after_crash = on');
	$dsm->start;
	q1($dsm, 'CREATE EXTENSION advlock_named');
	lifetimes($dsm, 'in a DSM segment');
	granted_to_a_terminated_waiter($dsm, 'in a DSM segment');
	withdrawn_ledger($dsm, 'in a DSM segment');
	$dsm->stop;
}

# A standby that is promoted: its timeline is higher, and so are its tokens.
my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "shared_preload_libraries = 'advlock_named'");
$primary->start;
q1($primary, 'CREATE EXTENSION advlock_named');
q1($primary, "SELECT named_lease_exclusive('before-backup', '1 hour')");
# a cold copy rather than pg_basebackup, which the server-only builds of
# make test-matrix do not ship
$primary->stop;
$primary->backup_fs_cold('backup');
$primary->start;
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;

# the primary goes on giving tokens, and makes new epochs durable meanwhile
$primary->restart;
my $primary_max = 0;
for my $i (1 .. 20)
{
	my $token = q1($primary, "SELECT named_lease_exclusive('primary-$i', '1 hour')");
	$primary_max = $token if $token > $primary_max;
}
$primary->wait_for_catchup($standby);
my $on_standby = q1($standby, "SELECT named_lease_exclusive('on-standby', '1 hour')");
ok($on_standby > 0, 'a standby grants leases of its own');
$standby->promote;
my $promoted = q1($standby, "SELECT named_lease_exclusive('after-promotion', '1 hour')");
cmp_ok($promoted, '>', $primary_max, 'the promoted standby\'s tokens are larger than every token of the old primary');
cmp_ok($promoted, '>', $on_standby, '... and than its own from before the promotion');
is(q1($standby, "SELECT named_lease_renew('on-standby', $on_standby, '1 hour')"),
	't', 'a lease taken during recovery lives on after the promotion');
$standby->stop;
$primary->stop;

done_testing();
