# Several backends publishing names new to a full directory at once (four
# times 5,000 names, max_names 5,000): each
# insert and eviction holds its part's lock exclusively, so the parts'
# indexes and counts stay whole.  Every name published is one more name kept
# or one more eviction (or more: a name evicted between its publishing and
# its flush goes back in), and the count of names is the names there are.  A
# part written under a shared lock loses counts, crashes its backend, or its
# probes never end and the sessions time out (the issue's :354 mutation:
# this kills it, not every time, where no assertion-enabled build checks
# the lock's mode).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $sessions = 4;
my $names = 5000;

my $node = PostgreSQL::Test::Cluster->new('publish_stress');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'advlock_named'")
  if $node->pg_version < 17;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION advlock_named');
my $counted = 'SELECT names + evictions FROM named_lock_stats_info';
my $before = $node->safe_psql('postgres', $counted);

my @publishers;
foreach my $s (1 .. $sessions)
{
	my $psql = $node->background_psql('postgres', timeout => 120);

	$psql->query_until(
		qr/started/, "\\echo started\n"
		  . "DO \$\$ BEGIN FOR i IN 1..$names LOOP
				PERFORM named_lock_exclusive('stress-$s-' || i);
				PERFORM named_unlock_exclusive('stress-$s-' || i);
			END LOOP; END \$\$;\n");
	push @publishers, $psql;
}
# each returns once its loop is done, or dies at the timeout
$_->query_safe('SELECT 1') foreach @publishers;
$_->quit foreach @publishers;

cmp_ok($node->safe_psql('postgres', $counted) - $before,
	'>=', $sessions * $names, 'every name published is counted');
is( $node->safe_psql('postgres',
		'SELECT names = (SELECT count(*) FROM named_lock_stats) AND names <= max_names FROM named_lock_stats_info'),
	't', 'the count of names is the names there are, within max_names');

$node->stop;
done_testing();
