# named_lock_stats shows the names of every database, and the directory
# keeps each in the encoding of the database it was locked in: a viewer gets
# them in its own database's encoding, or NULL with the key where they cannot
# be converted, so that no database's names can break another's monitoring
# queries.  The SQL below writes its non-ASCII characters with chr() and
# reads them back as the hex of their UTF-8, so psql's client encoding never
# touches them.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('encoding');
$node->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'advlock_named'")
  if $node->pg_version < 17;
$node->start;
foreach my $encoding ('LATIN1', 'SQL_ASCII')
{
	$node->safe_psql('postgres',
		"CREATE DATABASE \"\L$encoding\E\" TEMPLATE template0 ENCODING '$encoding' LOCALE 'C'");
}
foreach my $database ('postgres', 'latin1', 'sql_ascii')
{
	$node->safe_psql($database, 'CREATE EXTENSION advlock_named');
}

# café in LATIN1, and bytes beyond ASCII in SQL_ASCII, which declares no encoding
$node->safe_psql('latin1', "SELECT named_lock_exclusive('caf' || chr(233)), named_unlock_all()");
$node->safe_psql('sql_ascii',
	"SELECT named_lock_exclusive('raw-' || chr(233)), named_unlock_all()");
my $cafe = $node->safe_psql('postgres', "SELECT named_lock_key('caf' || chr(233))");
my $utf8 = "SELECT coalesce(encode(convert_to(name, 'UTF8'), 'hex'), '<null>') FROM named_lock_stats";

# Runs $sql in $database; returns its output, or its error.
sub query
{
	my ($database, $sql) = @_;
	my ($ret, $stdout, $stderr) = $node->psql($database, $sql);
	return $ret == 0 ? $stdout : "error: $stderr";
}

is(query('postgres', "$utf8 WHERE key = $cafe"),
	'636166c3a9', 'a LATIN1 name is converted for a UTF8 database');
is(query('postgres', "$utf8 WHERE database = 'sql_ascii'"),
	'<null>', 'bytes beyond ASCII from a SQL_ASCII database are NULL');
is(query('postgres', "SELECT key IS NOT NULL FROM named_lock_stats WHERE database = 'sql_ascii'"),
	't', 'with their key');
like(
	query('postgres', "SET client_encoding = 'LATIN1'; SELECT * FROM named_lock_stats"),
	qr/\|/, 'named_lock_stats works under client_encoding LATIN1');
is(query('latin1', "$utf8 WHERE key = $cafe"),
	'636166c3a9', 'its own database shows it as it is');

# names of a UTF8 database: converted where LATIN1 has the characters, else NULL
$node->safe_psql('postgres',
	"SELECT named_lock_exclusive(ARRAY[chr(252) || 'ber', 'lock-' || chr(38145)]), named_unlock_all()");
my $uber = $node->safe_psql('postgres', "SELECT named_lock_key(chr(252) || 'ber')");
my $lock = $node->safe_psql('postgres', "SELECT named_lock_key('lock-' || chr(38145))");
is(query('latin1', "$utf8 WHERE key = $uber"), 'c3bc626572', 'a UTF8 name LATIN1 can spell is converted');
is(query('latin1', "$utf8 WHERE key = $lock"), '<null>', 'one it cannot is NULL');
is(query('latin1', "SELECT count(*) FROM named_lock_stats WHERE key = $lock"), '1', 'its row is there');

$node->stop;
done_testing();
