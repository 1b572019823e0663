# A lock granted in the very instant a timeout or a cancel fires: the call
# either succeeds or fails holding nothing new, and a timed wait that lost
# the race leaves the transaction usable.  And one that fires just after
# the call returned, in the rest of its statement: the failed statement
# leaves nothing held either.
#
# The instant is made to last: gdb stops the waiter right after it leaves
# the lock manager's sleep, when the holder has already granted it the lock
# but it has not yet disarmed its timers.  The test checks the grant, lets
# the timeout pass (or sends a cancel) and resumes the waiter, which then
# finds the timeout or cancel pending.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION advlock_named');

my $key = $node->safe_psql('postgres', "SELECT named_lock_key('race')");

# "pid:granted" for every advisory lock on 'race'.
sub locks_on_race
{
	return $node->safe_psql('postgres',
		"SELECT coalesce(string_agg(pid || ':' || granted, ','), 'none')"
		  . " FROM pg_locks WHERE locktype = 'advisory'"
		  . " AND (classid::bigint << 32 | objid::bigint) = $key");
}

sub wait_for_file
{
	my ($file, $gdb, $gdb_output) = @_;
	my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
	until (-e $file)
	{
		die "gdb ended early (is ptrace allowed?):\n$$gdb_output"
		  unless $gdb->pumpable;
		die "timed out waiting for $file:\n$$gdb_output" if time > $deadline;
		$gdb->pump_nb;
		sleep 0.1;
	}
}

# Runs $call in a session of its own (after $setup) while another session
# holds 'race' exclusively.  Once the waiter queues, gdb stops it at
# $breakpoint and the holder lets go; while the waiter is stopped with the
# lock granted, $while_stopped->($pid, $started) runs.  Returns the call's
# output and errors, and the waiter's session.
sub race
{
	my (%args) = @_;
	my $holder = $node->background_psql('postgres');
	$holder->query_safe("SELECT named_lock_exclusive('race')");

	my $waiter = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $waiter->query_safe('SELECT pg_backend_pid()');
	$waiter->query_safe($args{setup}) if $args{setup};
	my $started = time;
	$waiter->query_until(qr/asking/,
		"\\echo asking\n$args{call};\n\\echo done\n");
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_locks WHERE pid = $pid AND NOT granted")
	  or die "the waiter never queued";

	my $dir = PostgreSQL::Test::Utils::tempdir;
	my $gdb_output = '';
	my $gdb = IPC::Run::start(
		[
			'gdb', '-p', $pid, '-batch', '-nx',
			'-iex', 'set debuginfod enabled off',
			'-ex', 'handle SIGALRM SIGINT SIGURG SIGUSR1 nostop noprint pass',
			'-ex', "break $args{breakpoint}",
			'-ex', "shell touch $dir/attached",
			'-ex', 'continue',
			'-ex', "shell touch $dir/stopped",
			'-ex', "shell while [ ! -e $dir/resume ]; do sleep 0.1; done",
			'-ex', 'detach'
		],
		'<', \undef, '>&', \$gdb_output);
	wait_for_file("$dir/attached", $gdb, \$gdb_output);

	$holder->query_safe('SELECT named_unlock_all()');
	wait_for_file("$dir/stopped", $gdb, \$gdb_output);
	is(locks_on_race(), "$pid:true",
		"$args{label}: the waiter is stopped with the lock granted");
	$args{while_stopped}->($pid, $started);

	open my $resume, '>', "$dir/resume" or die "cannot create $dir/resume: $!";
	close $resume;
	$gdb->finish;
	$holder->quit;

	my $output = $waiter->query_until(qr/done/, '');
	$output =~ s/\s*done\s*$//;
	my $errors = $waiter->{stderr};
	$waiter->{stderr} = '';
	return ($output, $errors, $waiter);
}

my $timeout = 5;

# Keeps the waiter stopped until its timeout has passed.
sub outlast_timeout
{
	my ($pid, $started) = @_;
	my $left = $started + $timeout + 0.5 - time;
	sleep $left if $left > 0;
}

my ($output, $errors, $waiter);

($output, $errors, $waiter) = race(
	label => 'timed transaction lock',
	setup => 'BEGIN',
	call => "SELECT named_xact_lock_exclusive('race', '$timeout s')",
	breakpoint => 'disable_timeouts',
	while_stopped => \&outlast_timeout);
is($output, 'f', 'timed transaction lock: the wait reports the timeout');
is($errors, '', 'timed transaction lock: no error reaches the caller');
is($waiter->query_safe('SELECT count(*) FROM named_locks()'),
	'0', 'timed transaction lock: the transaction goes on, holding nothing');
$waiter->query_safe('COMMIT');
is(locks_on_race(), 'none', 'timed transaction lock: no lock is left');
$waiter->quit;

($output, $errors, $waiter) = race(
	label => 'timed session lock',
	call => "SELECT named_lock_exclusive('race', '$timeout s')",
	breakpoint => 'disable_timeouts',
	while_stopped => \&outlast_timeout);
is($output, 'f', 'timed session lock: the wait reports the timeout');
is($errors, '', 'timed session lock: no error reaches the caller');
is(locks_on_race(), 'none', 'timed session lock: no lock is left');
is($waiter->query_safe('SELECT count(*) FROM named_locks()'),
	'0', 'timed session lock: the registry agrees');
$waiter->quit;

($output, $errors, $waiter) = race(
	label => 'cancelled session lock',
	call => "SELECT named_lock_exclusive('race')",
	breakpoint => 'disable_timeout',
	while_stopped => sub {
		my ($pid) = @_;
		$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
	});
like(
	$errors,
	qr/canceling statement due to user request/,
	'cancelled session lock: the cancel is reported');
is(locks_on_race(), 'none', 'cancelled session lock: the granted lock is given back');
is($waiter->query_safe('SELECT count(*) FROM named_locks()'),
	'0', 'cancelled session lock: the registry agrees');
$waiter->quit;

# The rest of the statement fails after the call returned: gdb stops the
# waiter in the statement's next function, with the lock it waited for
# granted, until its statement timeout has passed.  The failed statement
# gives the lock back.
($output, $errors, $waiter) = race(
	label => 'statement timeout after a waited grant',
	setup => "SET statement_timeout = '${timeout}s'",
	call => "SELECT named_lock_exclusive('race'), pg_sleep(0.1)",
	breakpoint => 'pg_sleep',
	while_stopped => \&outlast_timeout);
like(
	$errors,
	qr/canceling statement due to statement timeout/,
	'statement timeout after a waited grant: the timeout is reported');
is(locks_on_race(), 'none', 'statement timeout after a waited grant: the lock is given back');
is($waiter->query_safe('SELECT count(*) FROM named_locks()'),
	'0', 'statement timeout after a waited grant: the registry agrees');
$waiter->quit;

($output, $errors, $waiter) = race(
	label => 'cancel after a waited set',
	call => "SELECT named_lock_shared(ARRAY['race', 'race-too']), pg_sleep(0.1)",
	breakpoint => 'pg_sleep',
	while_stopped => sub {
		my ($pid) = @_;
		$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
	});
like(
	$errors,
	qr/canceling statement due to user request/,
	'cancel after a waited set: the cancel is reported');
is(locks_on_race(), 'none', 'cancel after a waited set: the lock is given back');
is($waiter->query_safe('SELECT count(*) FROM named_locks()'),
	'0', 'cancel after a waited set: no name of the set stays held');
$waiter->quit;

$node->stop;
done_testing();
