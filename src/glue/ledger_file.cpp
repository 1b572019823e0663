/*-------------------------------------------------------------------------
 *
 * ledger_file.cpp
 *	  The lease ledger's file; see ledger_file.hpp.
 *
 * Records are written in place, without fsync: the ledger only has to
 * outlive the server's processes, and a crash of the operating system
 * restarts the postmaster, which starts an empty ledger anyway.  A backend
 * keeps its descriptor of the file until it exits or the ledger is
 * withdrawn.
 *
 * Glue layer; see advlock_named.cpp for the rules every glue file follows.
 *
 *-------------------------------------------------------------------------
 */
extern "C" {
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>

#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/timestamp.h"
}

#include "ledger_file.hpp"

#include "lease_ledger.hpp"

namespace advlock_named {
namespace {

constexpr const char kLedgerTempFile[] = "advlock_named.leases.tmp";

off_t
OffsetOf(uint32 place)
{
	return (off_t) sizeof(LedgerHeader) + (off_t) place * (off_t) sizeof(LedgerRecord);
}

/*
 * Which life of the postmaster the ledger belongs to: its start time, seen
 * from a backend.  The postmaster builds shared memory before it sets that,
 * so there it draws its own at the first build and keeps it over crashes.
 */
int64
Life()
{
	static int64 postmaster_life = 0;

	if (IsUnderPostmaster)
		return PgStartTime;
	if (postmaster_life == 0)
		postmaster_life = GetCurrentTimestamp();
	return postmaster_life;
}

bool
ReadFully(int fd, void *buffer, size_t length, off_t offset)
{
	return pg_pread(fd, buffer, length, offset) == (ssize_t) length;
}

bool
WriteFully(int fd, const void *buffer, size_t length, off_t offset)
{
	ssize_t		written = pg_pwrite(fd, buffer, length, offset);

	if (written == (ssize_t) length)
		return true;
	/* a short write sets no errno: the disk is full */
	if (written >= 0)
		errno = ENOSPC;
	return false;
}

/*
 * Calls admit(spec, token, renewals) for each holder of this life's ledger
 * whose time is not up; false when there is no such ledger.
 */
template <typename Admit>
bool
ForEachKept(Admit admit)
{
	int			fd = BasicOpenFile(kLedgerFile, O_RDONLY | PG_BINARY);
	TimestampTz now = GetCurrentTimestamp();
	LedgerHeader header;

	if (fd < 0)
		return false;
	if (!ReadFully(fd, &header, sizeof(header), 0) || !HeaderIsSound(header) || header.life != Life())
	{
		close(fd);
		return false;
	}
	for (uint32 place = 0; place < header.places; place++)
	{
		LedgerRecord record;
		HolderSpec	spec;
		int64		token;
		int64		renewals;

		if (!ReadFully(fd, &record, sizeof(record), OffsetOf(place)))
			break;
		if (ReadRecord(record, &spec, &token, &renewals) && spec.expires > now && !admit(spec, token, renewals))
			break;
	}
	close(fd);
	return true;
}

/* Writes the ledger of table as it is to a new file, then puts it in place of the old one. */
void
WriteWholeLedger(const LeaseTable &table)
{
	LedgerHeader header = HeaderFor(table.PlaceCount(), Life());
	int			fd = BasicOpenFile(kLedgerTempFile, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	bool		written = fd >= 0 && WriteFully(fd, &header, sizeof(header), 0);

	for (uint32 place = 0; written && place < table.PlaceCount(); place++)
	{
		const LeaseTable::Holder *holder = table.At(place);

		if (holder != nullptr && Kept(*holder))
		{
			LedgerRecord record = RecordOf(*holder);

			written = WriteFully(fd, &record, sizeof(record), OffsetOf(place));
		}
	}
	/* the places after the last record read as empty */
	written = written && ftruncate(fd, OffsetOf(table.PlaceCount())) == 0;
	if (fd >= 0 && close(fd) != 0)
		written = false;
	if (written && rename(kLedgerTempFile, kLedgerFile) == 0)
		return;
	ereport(LOG,
			(errcode_for_file_access(),
			 errmsg("advlock_named: could not write the lease ledger \"%s\": %m", kLedgerFile),
			 errdetail("Leases will not outlive a crash of the server until the lease table is built again.")));
	(void) unlink(kLedgerTempFile);
	/* an older ledger would not match this table's places */
	(void) unlink(kLedgerFile);
}

/*
 * This process's way to the file.  A change it cannot write withdraws the
 * ledger (unlinks it) rather than leave it behind the table: a release it
 * missed would bring the lease back after a crash.  The table built after
 * the next crash writes a new one.
 */
class FileLedger final : public LedgerSink
{
public:
	void		Put(uint32 place, const LedgerRecord *record) noexcept override
	{
		static const LedgerRecord empty{};

		if (withdrawn_)
			return;
		if (fd_ < 0)
		{
			fd_ = BasicOpenFile(kLedgerFile, O_RDWR | PG_BINARY);
			if (fd_ < 0 && errno == ENOENT)
			{
				/* withdrawn by another process, which said so */
				withdrawn_ = true;
				return;
			}
			if (fd_ >= 0)
				ReserveExternalFD();
		}
		if (fd_ >= 0 && WriteFully(fd_, record != nullptr ? record : &empty, sizeof(LedgerRecord), OffsetOf(place)))
			return;
		Withdraw();
	}

private:
	void		Withdraw() noexcept
	{
		int			write_error = errno;
		bool		unlinked = unlink(kLedgerFile) == 0 || errno == ENOENT;

		if (fd_ >= 0)
		{
			close(fd_);
			ReleaseExternalFD();
			fd_ = -1;
		}
		withdrawn_ = true;
		errno = write_error;
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("advlock_named: could not write the lease ledger \"%s\": %m", kLedgerFile),
				 unlinked ?
				 errdetail("The ledger is withdrawn: leases will not outlive a crash of the server until the lease table is built again.") :
				 errdetail("The ledger could not be withdrawn either: after a crash of the server, leases released since may come back until their time is up.")));
	}

	int			fd_ = -1;
	bool		withdrawn_ = false;
};

FileLedger file_ledger;

} // namespace

void
ReadmitLedger(LeaseTable *table)
{
	uint32		readmitted = 0;
	uint32		left_out = 0;

	(void) ForEachKept([&](const HolderSpec &spec, int64 token, int64 renewals) {
		if (table->Readmit(spec, token, renewals) != nullptr)
			readmitted++;
		else
			left_out++;
		return true;
	});
	if (readmitted > 0 || left_out > 0)
		ereport(LOG,
				(errmsg("advlock_named: %u leases and semaphore grants outlived the crash", readmitted),
				 left_out > 0 ? errdetail("%u did not fit in advlock_named.max_leases and are gone.", left_out) : 0));
	WriteWholeLedger(*table);
}

bool
LedgerHoldsLeases()
{
	bool		any = false;

	(void) ForEachKept([&](const HolderSpec &, int64, int64) {
		any = true;
		return false;
	});
	return any;
}

void
WriteLedgerFromNowOn()
{
	LeaseTable::SetLedgerSink(&file_ledger);
}

} // namespace advlock_named
