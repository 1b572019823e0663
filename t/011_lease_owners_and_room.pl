# No role acts on another role's lease, even on a token granted while it
# asked.  Two strangers guess the tokens about to be granted (they come from
# one counter) and release them, again and again, while the owner takes and
# releases a lease: a stranger's release must never find the owner's lease
# and succeed, so the owner's release always does.  On 1.4 before the fix
# the strangers won about three times a second: the owner was checked when
# the token did not exist yet, and the lease granted in between was then
# released without a second look.  A race, so the test could miss a broken
# build (it did not in 3 runs of 15 s); it cannot fail a sound one.
#
# Then room: a table full of leases whose time ran out, on names nobody
# asked for since, gives their places to new leases (before the fix it
# refused them as too many).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $seconds = 10;
my $strangers = 2;

my $node = PostgreSQL::Test::Cluster->new('lease_owners_and_room');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'advlock_named'")
  if $node->pg_version < 17;
# small, for the full table at the end
$node->append_conf('postgresql.conf', "advlock_named.max_leases = 16\nadvlock_named.max_leases_per_role = 0");
$node->start;
$node->safe_psql('postgres',
	'CREATE ROLE race_owner LOGIN; CREATE ROLE race_stranger LOGIN; CREATE DATABASE race OWNER race_owner;');
$node->safe_psql(
	'race', q{
CREATE EXTENSION advlock_named;
CREATE FUNCTION owner_loop(seconds float8) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	stop timestamptz := clock_timestamp() + make_interval(secs => seconds);
	token bigint;
	rounds int := 0;
	lost int := 0;
BEGIN
	WHILE clock_timestamp() < stop LOOP
		token := named_lease_exclusive('race', '1 min');
		IF NOT named_lease_release('race', token) THEN
			lost := lost + 1;
		END IF;
		rounds := rounds + 1;
	END LOOP;
	RETURN format('owner %s %s', rounds, lost);
END
$$;
CREATE FUNCTION stranger_loop(seconds float8) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	stop timestamptz := clock_timestamp() + make_interval(secs => seconds);
	base bigint;
	tries int := 0;
	won int := 0;
BEGIN
	WHILE clock_timestamp() < stop LOOP
		-- where the counter is: the stranger's own token
		base := named_lease_exclusive('stranger-' || pg_backend_pid(), '1 min');
		PERFORM named_lease_release('stranger-' || pg_backend_pid(), base);
		FOR i IN 1..3 LOOP
			BEGIN
				IF named_lease_release('race', base + i) THEN
					won := won + 1;
				END IF;
			EXCEPTION WHEN insufficient_privilege THEN
				NULL;
			END;
			tries := tries + 1;
		END LOOP;
	END LOOP;
	RETURN format('stranger %s %s', tries, won);
END
$$;},
	extra_params => [ '-U', 'race_owner' ]);

my @strangers;
foreach (1 .. $strangers)
{
	my $stranger = $node->background_psql('race', extra_params => [ '-U', 'race_stranger' ]);

	$stranger->query_until(qr/started/, "\\echo started\nSELECT stranger_loop($seconds);\n");
	push @strangers, $stranger;
}
my $owner = $node->safe_psql('race', "SELECT owner_loop($seconds)", extra_params => [ '-U', 'race_owner' ]);
my ($rounds, $lost) = $owner =~ /owner (\d+) (\d+)/ or die "no result from the owner: $owner";
my ($tries, $won) = (0, 0);
foreach my $stranger (@strangers)
{
	my $theirs = $stranger->query_until(qr/stranger \d+ \d+/, '');
	my ($t, $w) = $theirs =~ /stranger (\d+) (\d+)/ or die "no result from a stranger: $theirs";

	$tries += $t;
	$won += $w;
	$stranger->quit;
}
cmp_ok($rounds, '>', 100, "the owner took and released $rounds leases");
cmp_ok($tries, '>', 100, "the strangers tried $tries tokens");
is($won, 0, 'the strangers released none of them');
is($lost, 0, "every one of the owner's releases found its lease");

# The table has 16 places: a 17th live lease is refused.
is( $node->safe_psql(
		'race', "SELECT count(named_lease_exclusive('live-' || i, '1 min')) FROM generate_series(1, 16) i",
		extra_params => [ '-U', 'race_owner' ]),
	'16',
	'16 live leases fill the table');
my $refused = '';
$node->psql(
	'race', "SELECT named_lease_exclusive('live-17', '1 min')",
	stderr => \$refused,
	extra_params => [ '-U', 'race_owner' ]);
like($refused, qr/too many leases and semaphore grants on this server/, 'a 17th is refused');
$node->safe_psql('race', "SELECT named_lease_release(name, token) FROM named_leases",
	extra_params => [ '-U', 'race_owner' ]);

# A table full of leases whose time ran out on names nobody asked for since
# gives them up to a new one.
is( $node->safe_psql(
		'race',
		"SELECT count(named_lease_exclusive('brief-' || i, '1 ms')) FROM generate_series(1, 16) i",
		extra_params => [ '-U', 'race_owner' ]),
	'16',
	'the table (16 places) is filled with leases of a millisecond');
$node->safe_psql('race', 'SELECT pg_sleep(0.02)');
is( $node->safe_psql(
		'race', "SELECT named_lease_exclusive('after-brief', '1 min') IS NOT NULL",
		extra_params => [ '-U', 'race_owner' ]),
	't',
	'once their time is up a new lease takes the place of one');

$node->stop;
done_testing();
