# On a hot standby named locks work like the integer builtins: they can be
# taken, they conflict with each other there, and they are local to the
# standby (advisory locks are not replicated either way).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION advlock_named');
# a cold copy rather than pg_basebackup, which the server-only builds that
# make test-matrix uses do not ship
$primary->stop;
$primary->backup_fs_cold('backup');
$primary->start;

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');
is( $standby->safe_psql('postgres', "SELECT named_lock_key('import')"),
	'-2791398027664323193', 'keys are the same on the standby');

# A session on the standby holds 'import' exclusively.
my $holder = $standby->background_psql('postgres');
$holder->query_safe("SELECT named_lock_exclusive('import')");
is($holder->query_safe("SELECT name || ':' || scope FROM named_locks()"),
	'import:session', 'a session lock can be taken on the standby');

# It conflicts with other sessions on the standby, named or integer...
is( $standby->safe_psql('postgres',
		"SELECT named_try_lock_shared('import'), pg_try_advisory_lock(named_lock_key('import'))"),
	'f|f', 'the lock conflicts with other standby sessions');

# ...but the primary knows nothing of it, and the reverse holds too.
is($primary->safe_psql('postgres', "SELECT named_try_lock_exclusive('import')"),
	't', 'the primary does not see standby locks');
my $primary_holder = $primary->background_psql('postgres');
$primary_holder->query_safe("SELECT named_lock_exclusive('analysis')");
is($standby->safe_psql('postgres', "SELECT named_try_lock_exclusive('analysis')"),
	't', 'the standby does not see primary locks');

# Transaction locks work in the standby's read-only transactions.
is( $standby->safe_psql('postgres',
		"BEGIN; SELECT named_try_xact_lock_shared('report');"
		  . " SELECT count(*) FROM named_locks() WHERE scope = 'transaction'; COMMIT;"),
	"t\n1", 'a transaction lock can be taken on the standby');

# The standby's lock is released like any other.
is($holder->query_safe('SELECT named_unlock_all()'), '1', 'named_unlock_all works on the standby');
is($standby->safe_psql('postgres', "SELECT named_try_lock_exclusive('import')"),
	't', 'the name is free on the standby again');

$holder->quit;
$primary_holder->quit;
$standby->stop;
$primary->stop;
done_testing();
