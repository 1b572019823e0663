/*-------------------------------------------------------------------------
 *
 * lease_tokens.cpp
 *	  The timeline and the epoch file of fencing tokens; see
 *	  lease_tokens.hpp and src/core/fencing_token.hpp.
 *
 * The file holds the highest epoch made durable, in decimal.  A new value
 * is written to a temporary file, fsynced, and renamed over the old one
 * with the directory fsynced (durable_rename), so a crash leaves the old
 * value or the new one, never a torn one, and never loses a value a token
 * was drawn from.
 *
 * Glue layer; see advlock_named.cpp for the rules every glue file follows.
 *
 *-------------------------------------------------------------------------
 */
extern "C" {
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>

#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "storage/fd.h"
#include "storage/lwlock.h"
}

#include "lease_tokens.hpp"

namespace advlock_named {
namespace {

constexpr const char kEpochTempFile[] = "advlock_named.epoch.tmp";

/* The epoch in the file, 0 when there is no file yet. */
uint64
ReadEpochFile()
{
	FILE	   *file = AllocateFile(kEpochFile, "r");
	unsigned long long epoch;

	if (file == NULL)
	{
		if (errno == ENOENT)
			return 0;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", kEpochFile)));
	}
	if (fscanf(file, "%llu", &epoch) != 1)
	{
		FreeFile(file);
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("file \"%s\" does not hold a fencing token epoch", kEpochFile),
				 errhint("Tokens must stay above every token given before; restore the file from a backup or write a number above any epoch used (see the lease documentation).")));
	}
	FreeFile(file);
	return epoch;
}

void
WriteEpochFile(uint64 epoch)
{
	char		text[32];
	int			length = snprintf(text, sizeof(text), "%llu\n", (unsigned long long) epoch);
	int			fd = OpenTransientFile(kEpochTempFile, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);

	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", kEpochTempFile)));
	errno = 0;
	if (write(fd, text, length) != length)
	{
		if (errno == 0)
			errno = ENOSPC;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", kEpochTempFile)));
	}
	if (pg_fsync(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", kEpochTempFile)));
	if (CloseTransientFile(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", kEpochTempFile)));
	(void) durable_rename(kEpochTempFile, kEpochFile, ERROR);
}

void
ReportExhausted()
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("fencing tokens are exhausted"),
			 errdetail("Every one of the %llu token epochs has been used.",
					   (unsigned long long) kMaxTokenEpoch + 1)));
}

} // namespace

uint64
TokenTimeline()
{
	TimeLineID	timeline;

	if (!RecoveryInProgress())
		return GetWALInsertionTimeLine();
	(void) GetXLogReplayRecPtr(&timeline);
	return timeline;
}

void
EnsureTokenEpoch(const LeaseState &leases)
{
	TokenCounter &tokens = leases.table->Tokens();
	bool		wanted;
	uint64		epoch = 0;

	LWLockAcquire(leases.lock, LW_SHARED);
	wanted = tokens.WantsEpoch();
	LWLockRelease(leases.lock);
	if (!wanted)
		return;

	/* the file's I/O under a lock of its own, never the table's */
	LWLockAcquire(leases.token_lock, LW_EXCLUSIVE);
	LWLockAcquire(leases.lock, LW_SHARED);
	wanted = tokens.WantsEpoch();
	LWLockRelease(leases.lock);
	if (wanted)
	{
		uint64		file_epoch = ReadEpochFile();

		LWLockAcquire(leases.lock, LW_SHARED);
		epoch = tokens.EpochToReserve(file_epoch);
		LWLockRelease(leases.lock);
		if (epoch > kMaxTokenEpoch)
			ReportExhausted();
		WriteEpochFile(epoch);
		LWLockAcquire(leases.lock, LW_EXCLUSIVE);
		tokens.Reserved(epoch);
		LWLockRelease(leases.lock);
	}
	LWLockRelease(leases.token_lock);
}

int64
DrawToken(const LeaseState &leases)
{
	uint64		timeline = TokenTimeline();
	int64		token = 0;

	switch (leases.table->Tokens().Next(timeline, &token))
	{
		case TokenCounter::Draw::kDrawn:
			return token;
		case TokenCounter::Draw::kNeedsEpoch:
			return 0;
		case TokenCounter::Draw::kTimelineTooHigh:
			LWLockRelease(leases.lock);
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the timeline is too high for fencing tokens"),
					 errdetail("The server is on timeline %llu; tokens have room for timelines up to %llu.",
							   (unsigned long long) timeline, (unsigned long long) kMaxTokenTimeline)));
			break;
		case TokenCounter::Draw::kExhausted:
			LWLockRelease(leases.lock);
			ReportExhausted();
			break;
	}
	return 0;
}

} // namespace advlock_named
