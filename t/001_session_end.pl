# Named locks vanish with the session that holds them, however it ends, and
# whoever waits for them proceeds.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
# test clusters turn this off; here a crash restart is part of the test
$node->append_conf('postgresql.conf', 'restart_after_crash = on');
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION advlock_named');

my $key = $node->safe_psql('postgres', "SELECT named_lock_key('import')");

# Number of advisory locks on the key, granted or waiting.
sub locks_on_key
{
	my ($granted) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
		  . " AND (classid::bigint << 32 | objid::bigint) = $key"
		  . " AND granted = $granted");
}

# Starts a session that holds 'import' the way $lock_sql takes it and
# returns it with its pid.
sub start_holder
{
	my ($lock_sql) = @_;
	my $session = $node->background_psql('postgres');
	$session->query_safe($lock_sql);
	my $pid = $session->query_safe('SELECT pg_backend_pid()');
	chomp $pid;
	return ($session, $pid);
}

# Starts a session that asks for 'import' exclusively and waits until the
# lock manager shows it queued.
sub start_waiter
{
	my $session = $node->background_psql('postgres');
	$session->query_until(qr/asking/,
		"\\echo asking\nSELECT named_lock_exclusive('import');\n\\echo granted\n");
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory'"
		  . " AND (classid::bigint << 32 | objid::bigint) = $key AND NOT granted")
	  or die "the waiter never queued";
	return $session;
}

# Checks that the waiter got the lock once the holder was gone, then ends it.
sub waiter_proceeds
{
	my ($waiter, $how) = @_;
	$waiter->query_until(qr/granted/, '');
	is( $waiter->query_safe(
			"SELECT string_agg(name || ':' || mode || ':' || holds, ',') FROM named_locks()"),
		'import:exclusive:1',
		"$how: the waiter holds the lock");
	$waiter->quit;
	$node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_locks WHERE locktype = 'advisory'")
	  or die "locks left after the waiter quit";
}

# 1. A holder that disconnects normally.
my ($holder, $pid) = start_holder("SELECT named_lock_shared('import')");
my $waiter = start_waiter();
$holder->quit;
waiter_proceeds($waiter, 'disconnect');

# 2. A holder terminated by pg_terminate_backend().
($holder, $pid) = start_holder("SELECT named_lock_exclusive('import')");
$waiter = start_waiter();
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
waiter_proceeds($waiter, 'pg_terminate_backend');
$holder->quit;

# 3. A client that goes away in the middle of a transaction holding a
# transaction lock and a session lock.
($holder, $pid) = start_holder(
	"BEGIN; SELECT named_xact_lock_shared('import'), named_lock_shared('import');");
$waiter = start_waiter();
$holder->quit;
waiter_proceeds($waiter, 'disconnect mid-transaction');

# 4. A holder killed with SIGKILL: the postmaster restarts every backend,
# and nothing survives in the shared lock table.
($holder, $pid) = start_holder(
	"SELECT named_lock_exclusive('import'), named_lock_exclusive('other')");
is(locks_on_key('true'), '1', 'the lock is held before the crash');
kill 'KILL', $pid;
$holder->quit;
$node->poll_query_until('postgres', 'SELECT true')
  or die "the server did not come back after the crash";
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"),
	'0', 'no advisory lock survives a crash restart');
is($node->safe_psql('postgres', "SELECT named_try_lock_exclusive('import')"),
	't', 'the name can be locked again after the crash');

# 5. A server restart.
($holder, $pid) = start_holder("SELECT named_lock_exclusive('import')");
$node->restart;
$holder->quit;
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"),
	'0', 'no advisory lock survives a restart');

$node->stop;
done_testing();
