# On PostgreSQL 17 and later without preloading, the name directory is a
# DSM segment that the first lock call of a session tracking names makes.
# When it cannot be made (here a file size limit with
# dynamic_shared_memory_type = mmap, as a full /dev/shm would do), the lock
# calls go on without it, each backend says so once in the server log, and
# the views say why they have nothing to show.  Nothing else depends on it:
# leases live in a segment of their own.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('small');
plan skip_all => 'the directory needs preloading before PostgreSQL 17' if $node->pg_version < 17;

$node->init;
# about 330 MB of directory, under a limit of 100 MB a file
$node->append_conf('postgresql.conf',
	"dynamic_shared_memory_type = mmap\nadvlock_named.max_names = 1000000");
my $pgdata = $node->data_dir;
my $logfile = $node->logfile;
system('bash', '-c', "ulimit -f 100000 && exec pg_ctl -w -D '$pgdata' -l '$logfile' start") == 0
  or die "the server did not start";

$node->safe_psql('postgres', 'CREATE EXTENSION advlock_named');

my $warnings = 'named locks go on without the name directory';
sub said_in_log
{
	my $log = PostgreSQL::Test::Utils::slurp_file($logfile);
	my $count = () = $log =~ /\Q$warnings\E/g;
	return $count;
}

is( $node->safe_psql('postgres',
		"SELECT named_lock_exclusive('a'), named_unlock_exclusive('a'), named_try_lock_shared('b'), named_unlock_all()"),
	'|t|t|1', 'the lock functions work without the directory');
is(said_in_log(), 1, 'the backend that failed to make it said so once');
like($node->safe_psql('postgres', 'SELECT 1 FROM (SELECT named_lock_shared(\'c\')) s CROSS JOIN generate_series(1, 3)'),
	qr/1/, 'later calls in new backends work too');

my ($ret, $stdout, $stderr) = $node->psql('postgres', 'SELECT count(*) FROM named_lock_activity');
isnt($ret, 0, 'named_lock_activity cannot show names');
like($stderr, qr/the advlock_named name directory could not be created/, '... and says so');
like($stderr, qr/File too large/, '... with the reason');
($ret, $stdout, $stderr) = $node->psql('postgres', 'SELECT count(*) FROM named_lock_stats');
like($stderr, qr/could not be created/, 'so does named_lock_stats');

my $session = $node->background_psql('postgres');
$session->query_safe("SELECT named_lock_exclusive('d')");
$session->query_safe("SELECT named_lock_exclusive('e')");
$session->query_safe('SELECT named_unlock_all()');
$session->quit;
# the creator, the later backend, and this session; the views raise their error instead
is(said_in_log(), 3, 'each backend says it once, however many calls it makes');

is($node->safe_psql('postgres', "SELECT named_lease_release('l', named_lease_exclusive('l', '1 min'))"),
	't', 'leases do not depend on the directory');

system('pg_ctl', '-w', '-D', $pgdata, '-m', 'fast', 'stop') == 0 or die "the server did not stop";
done_testing();
