# The shared name directory with real logins of several roles: names are
# shown as pg_stat_activity shows queries; a full directory evicts idle
# names and keeps the ones in use, and one role's churn leaves the others'
# names alone; and on a hot standby the directory is the standby's own.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf',
	"shared_preload_libraries = 'advlock_named'\nadvlock_named.max_names = 100");
$primary->start;
$primary->safe_psql(
	'postgres', q{
	CREATE EXTENSION advlock_named;
	CREATE ROLE alice LOGIN;
	CREATE ROLE bob LOGIN;
	CREATE ROLE carol LOGIN IN ROLE pg_read_all_stats;
	CREATE ROLE dave LOGIN IN ROLE alice;
});

is($primary->safe_psql('postgres', 'SHOW advlock_named.max_names'), '100', 'max_names is set');

# --- privacy, per lock request, by the backend's login role ---
# (background_psql takes no connection string before 16; psql's -U does)
my $alice = $primary->background_psql('postgres', extra_params => [ '-U', 'alice' ]);
$alice->query_safe("SELECT named_lock_exclusive('alice-secret')");

my $activity = "SELECT coalesce(name, '<hidden>') || ':' || (key = named_lock_key('alice-secret'))::int
	FROM named_lock_activity WHERE key = named_lock_key('alice-secret')";
sub as_role
{
	my ($role, $sql) = @_;
	return $primary->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]);
}
is(as_role('alice', $activity), 'alice-secret:1', 'alice sees her own name');
is(as_role('bob', $activity), '<hidden>:1', 'bob sees the key but not the name');
is(as_role('carol', $activity), 'alice-secret:1', 'pg_read_all_stats sees the name');
is(as_role('dave', $activity), 'alice-secret:1', 'a member of alice sees the name');
is(as_role('postgres', $activity), 'alice-secret:1', 'a superuser sees the name');

# a waiter of another role: named_lock_waits hides the name the same way
my $bob = $primary->background_psql('postgres', extra_params => [ '-U', 'bob' ]);
$bob->query_until(qr/waiting/, "\\echo waiting\nSELECT named_lock_shared('alice-secret');\n");
$primary->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM named_lock_activity WHERE NOT granted AND key = named_lock_key('alice-secret')")
  or die 'bob never waited';
my $waits = "SELECT coalesce(name, '<hidden>') FROM named_lock_waits WHERE key = named_lock_key('alice-secret')";
is(as_role('bob', $waits), 'alice-secret', 'bob sees the name of his own wait');
is(as_role('alice', $waits), 'alice-secret', "alice sees in bob's wait the name she published herself");
is(as_role('carol', $waits), 'alice-secret', 'pg_read_all_stats sees it');
$alice->query_safe('SELECT named_unlock_all()');
$primary->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM named_lock_activity WHERE granted AND key = named_lock_key('alice-secret')")
  or die 'bob never got the lock';
$bob->query_safe('SELECT named_unlock_all()');

# statistics are per role; other roles' names are hidden there too
my $stats = "SELECT role || ':' || coalesce(name, '<hidden>') || ':' || acquisitions
	FROM named_lock_stats WHERE key = named_lock_key('alice-secret') ORDER BY role";
is(as_role('bob', $stats), "alice:<hidden>:1\nbob:alice-secret:1", 'bob sees only his own statistics by name');
is(as_role('carol', $stats), "alice:alice-secret:1\nbob:alice-secret:1", 'pg_read_all_stats sees all');

# --- a full directory evicts idle names first ---
my $holder = $primary->background_psql('postgres');
$holder->query_safe("SELECT named_lock_shared(ARRAY['held-1', 'held-2', 'held-3'])");
$primary->safe_psql('postgres',
	q{DO $$ BEGIN FOR i IN 1..300 LOOP
		PERFORM named_lock_exclusive('churn-' || i);
		PERFORM named_unlock_exclusive('churn-' || i);
	END LOOP; END $$;});
my ($names, $evictions) = split /\|/,
  $primary->safe_psql('postgres', 'SELECT names, evictions FROM named_lock_stats_info');
cmp_ok($names, '<=', 100, "the directory keeps at most max_names names ($names)");
cmp_ok($names, '>', 50, "the churn fills every part of the directory, not one ($names)");
cmp_ok($evictions, '>=', 200, "idle names were evicted ($evictions)");
is( $primary->safe_psql('postgres',
		"SELECT string_agg(name, ',' ORDER BY name) FROM named_lock_activity WHERE name LIKE 'held-%'"),
	'held-1,held-2,held-3',
	'names in use were kept');
is( $primary->safe_psql('postgres',
		"SELECT count(*) FROM named_lock_stats WHERE name IN ('churn-299', 'churn-300')"),
	'2', 'the newest names are there');
$holder->query_safe('SELECT named_unlock_all()');

# a name whose one use its backend has not flushed yet ranks with the older
# names used once, whose counts are in: a new session's churn evicts those
$primary->safe_psql('postgres',
	q{DO $$ BEGIN FOR i IN 1..40 LOOP
		PERFORM named_lock_exclusive('fresh-' || i);
		PERFORM named_unlock_exclusive('fresh-' || i);
	END LOOP; END $$;});
is( $primary->safe_psql('postgres', "SELECT count(*) FROM named_lock_stats WHERE name LIKE 'fresh-%'"),
	'40', 'names not yet flushed are not evicted before older names used alike');

# one role churning new names, once it has its share of a part, evicts only
# its own: alice's names, as little used as bob's and older, stay
sub lock_each_once
{
	my ($prefix, $count) = @_;
	return "DO \$\$ BEGIN FOR i IN 1..$count LOOP
		PERFORM named_lock_exclusive('$prefix' || i), named_unlock_exclusive('$prefix' || i);
	END LOOP; END \$\$";
}
$alice->query_safe(lock_each_once('alice-keep-', 8));
$bob->query_safe(lock_each_once('bob-churn-', 2000));
is($primary->safe_psql('postgres', "SELECT count(*) FROM named_lock_stats WHERE name LIKE 'alice-keep-%'"),
	'8', "one role's churn leaves another role's names alone");

$alice->quit;
$bob->quit;
$holder->quit;

# --- hot standby: the directory is local to each server ---
$primary->stop;
$primary->backup_fs_cold('backup');
$primary->start;
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);

my $on_standby = $standby->background_psql('postgres');
$on_standby->query_safe("SELECT named_lock_exclusive('standby-only')");
is( $standby->safe_psql('postgres',
		"SELECT name || ':' || granted::int FROM named_lock_activity WHERE name = 'standby-only'"),
	'standby-only:1', 'the standby names its own locks');
is( $standby->safe_psql('postgres',
		"SELECT acquisitions FROM named_lock_stats WHERE name = 'standby-only'"),
	'1', 'and counts them');
is($standby->safe_psql('postgres', "SELECT count(*) FROM named_lock_stats WHERE name = 'held-1'"),
	'0', "the primary's names are not on the standby");
is($primary->safe_psql('postgres', "SELECT count(*) FROM named_lock_stats WHERE name = 'standby-only'"),
	'0', "the standby's names are not on the primary");
$on_standby->quit;

$standby->stop;
$primary->stop;
done_testing();
