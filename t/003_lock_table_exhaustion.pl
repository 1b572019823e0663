# One runaway session taking named locks in a loop fills the shared lock
# table and locks everybody else out; advlock_named.max_locks_per_session
# stops it first.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
# a deliberately small lock table: a few hundred entries
$node->append_conf('postgresql.conf', "max_locks_per_transaction = 10\nmax_connections = 10");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION advlock_named');

# The loop's error is caught, so its statement completes and keeps what it
# took (a statement that fails gives its session locks back).
my $runaway_loop = "DO \$\$ BEGIN FOR i IN 1..100000 LOOP "
  . "PERFORM named_lock_exclusive('runaway-' || i); END LOOP; "
  . "EXCEPTION WHEN out_of_memory OR configuration_limit_exceeded THEN "
  . "RAISE WARNING '%', SQLERRM; END \$\$;";

# Another session's attempt to take one named lock: (exit code, stderr).
sub victim
{
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT named_try_lock_exclusive('victim')");
	return ($ret, $err);
}

# Without a limit the runaway fills the table, and nobody else gets a lock.
my $runaway = $node->background_psql('postgres', on_error_stop => 0);
$runaway->query("SET advlock_named.max_locks_per_session = 0");
$runaway->query($runaway_loop);
like($runaway->{stderr}, qr/out of shared memory/, 'without a limit the runaway fills the lock table');
$runaway->{stderr} = '';
my ($ret, $err) = victim();
isnt($ret, 0, 'another session cannot take a lock then');
like($err, qr/out of shared memory/, '... because shared memory is gone');
my $held = $runaway->query_safe('SELECT named_unlock_all()');
cmp_ok($held, '>', 100, "the runaway held $held locks");
($ret, $err) = victim();
is($ret, 0, 'once they are released, others work again');

# With a limit the runaway stops at it with a clear error, and others go on.
$runaway->query_safe("SET advlock_named.max_locks_per_session = 100");
$runaway->{stderr} = '';
$runaway->query($runaway_loop);
like($runaway->{stderr}, qr/too many named locks held by this session/, 'the limit stops the runaway');
$runaway->{stderr} = '';
is($runaway->query_safe('SELECT count(*) FROM named_locks()'), '100', 'it holds exactly the limit');
($ret, $err) = victim();
is($ret, 0, 'others can still take locks');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'and new connections work');

# A runaway whose statement fails gives back everything it took.
$runaway->query_safe("SELECT named_unlock_all()");
$runaway->query_safe("SET advlock_named.max_locks_per_session = 0");
$runaway->query("SELECT named_lock_exclusive('failing-' || i) FROM generate_series(1, 100000) AS i");
like($runaway->{stderr}, qr/out of shared memory/, 'a failing runaway fills the lock table');
$runaway->{stderr} = '';
is($runaway->query_safe('SELECT count(*) FROM named_locks()'), '0', '... and its failed statement gives it all back');
($ret, $err) = victim();
is($ret, 0, 'so others work at once');

$runaway->quit;
$node->stop;
done_testing();
