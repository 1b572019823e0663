# A name is shown only to a viewer who may see the role that published it,
# whatever path leads to it.  Keys are public (pg_locks, named_lock_stats),
# so a stranger can take the integer lock on the key of another role's name;
# that must not make the name visible to the stranger in any view.  Three
# real logins: alice publishes a name, dave is a member of alice, eve is a
# stranger.  On PostgreSQL 15 the directory needs preloading; on 17 and later
# this runs without, on the DSM registry's directory.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('privacy');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'advlock_named'")
  if $node->pg_version < 17;
$node->start;
$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION advlock_named;
	CREATE ROLE alice LOGIN;
	CREATE ROLE dave LOGIN IN ROLE alice;
	CREATE ROLE eve LOGIN;
});

sub as_role
{
	my ($role, $sql) = @_;
	return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]);
}

# (background_psql takes no connection string before 16; psql's -U does)
my $alice = $node->background_psql('postgres', extra_params => [ '-U', 'alice' ]);
$alice->query_safe("SELECT named_lock_shared('alice-secret')");
$alice->query_safe('SELECT count(*) FROM named_lock_stats');	# flushes her count

# eve reads the key of alice's name where keys are public
my $key = as_role('eve', "SELECT key FROM named_lock_stats WHERE role = 'alice'");
is($key, $node->safe_psql('postgres', "SELECT named_lock_key('alice-secret')"),
	'a stranger finds the key in named_lock_stats');

# eve holds the key shared with the integer builtin, and a second session of
# hers waits for it exclusive, behind alice and herself
my $eve = $node->background_psql('postgres', extra_params => [ '-U', 'eve' ]);
$eve->query_safe("SELECT pg_advisory_lock_shared($key)");
my $eve_waiting = $node->background_psql('postgres', extra_params => [ '-U', 'eve' ]);
$eve_waiting->query_until(qr/waiting/, "\\echo waiting\nSELECT pg_advisory_lock($key);\n");
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
	  . " AND (classid::bigint << 32 | objid::bigint) = $key")
  or die 'eve never waited';

# Every view and function that shows a name of the key: "rows:named", and
# the names shown.
my %shows = (
	'named_lock_activity' => "FROM named_lock_activity WHERE key = $key",
	'named_lock_activity()' => "FROM named_lock_activity() WHERE key = $key",
	'named_lock_waits' => "FROM named_lock_waits WHERE key = $key",
	'named_lock_waits(names)' => "FROM named_lock_waits(ARRAY['unrelated']) WHERE key = $key",
	'named_lock_stats' => "FROM named_lock_stats WHERE key = $key",
	'named_lock_stats()' => "FROM named_lock_stats() WHERE key = $key");
my %rows = (
	'named_lock_activity' => 3,
	'named_lock_activity()' => 3,
	'named_lock_waits' => 2,
	'named_lock_waits(names)' => 2,
	'named_lock_stats' => 1,
	'named_lock_stats()' => 1);

foreach my $what (sort keys %shows)
{
	my $sql = "SELECT count(*) || ':' || count(name) || ':' || coalesce(string_agg(DISTINCT name, ','), '') "
	  . $shows{$what};
	my $all = "$rows{$what}:$rows{$what}:alice-secret";
	is(as_role('alice', $sql), $all, "$what: the owner sees her name, on every row of the key");
	is(as_role('dave', $sql), $all, "$what: a member of the owner sees it");
	is(as_role('postgres', $sql), $all, "$what: a superuser sees it");
	is(as_role('eve', $sql), "$rows{$what}:0:", "$what: the stranger sees the key only, on her own rows too");
}

# The other way round: a name eve publishes is hers, hidden from alice.
$eve->query_safe("SELECT named_lock_exclusive('eve-own'), named_unlock_exclusive('eve-own')");
$eve->query_safe('SELECT count(*) FROM named_lock_stats');
my $eve_key = $node->safe_psql('postgres', "SELECT named_lock_key('eve-own')");
is(as_role('eve', "SELECT name FROM named_lock_stats WHERE key = $eve_key"),
	'eve-own', 'the stranger sees her own name');
is(as_role('alice', "SELECT count(name) FROM named_lock_stats WHERE key = $eve_key"),
	'0', "the owner does not see the stranger's");

# Once alice lets go, eve's sessions hold and wait for the key alone: still
# hidden from eve, still alice's name for alice.
$alice->query_safe('SELECT named_unlock_all()');
my $activity = "SELECT count(*) || ':' || count(name) FROM named_lock_activity WHERE key = $key";
is(as_role('eve', $activity), '2:0', 'without the owner holding it, the stranger still sees no name');
is(as_role('alice', $activity), '2:2', 'and the owner sees hers on the stranger\'s rows');

$eve->query_safe("SELECT pg_advisory_unlock_shared($key)");
$eve_waiting->query_safe('SELECT pg_advisory_unlock_all()');
$alice->quit;
$eve->quit;
$eve_waiting->quit;
$node->stop;
done_testing();
