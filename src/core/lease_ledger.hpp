/*-------------------------------------------------------------------------
 *
 * lease_ledger.hpp
 *	  The lease ledger: a copy, outside shared memory, of the holders that
 *	  must outlive a crash of the server's processes.
 *
 * A backend that dies abnormally makes PostgreSQL restart every backend and
 * build its shared memory anew, lease table included.  A lease owned by a
 * role rather than a session (not bound to one, with a time to live) should
 * outlive that, as it outlives its acquiring session: so the table tells a
 * sink about every change to such a holder, the glue keeps each one as a
 * fixed-size record in a file, and a table built again after a crash, in
 * the same life of the postmaster, readmits the records that have not
 * expired.  A restart of the postmaster starts an empty ledger.
 *
 * The file is a header and one record per place of the table.  A record is
 * written in place under the table's lock, is either kept or empty, and
 * carries a checksum, so that a write cut short by the crash itself is
 * recognized and left out.
 *
 * Pure C++: no PostgreSQL header, no allocation, nothing throws.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include <cstdint>
#include <type_traits>

#include "lease_table.hpp"

namespace advlock_named {

/* One holder as the ledger keeps it; all zeros for an empty place. */
struct LedgerRecord
{
	std::uint32_t magic;
	std::uint32_t database;
	std::int64_t key;
	std::int64_t token;
	std::int64_t acquired;
	std::int64_t expires;
	std::int64_t renewals;
	std::uint64_t fingerprint;
	std::uint32_t role;
	std::int32_t permits;
	std::int32_t capacity;
	std::uint8_t space;
	std::uint8_t kind;
	std::uint8_t truncated;
	std::uint8_t name_length;
	char		name[kLeaseNameBytes];
	std::uint64_t checksum;		/* of the bytes before it */
};

static_assert(std::is_trivially_copyable<LedgerRecord>::value, "written and read as bytes");
static_assert(sizeof(LedgerRecord) == 208, "no padding: every byte is checksummed");

/* The file's first bytes. */
struct LedgerHeader
{
	std::uint32_t magic;
	std::uint32_t version;
	std::uint32_t record_bytes;
	std::uint32_t places;
	std::int64_t life;			/* the postmaster's start time: whose crash the records outlive */
	std::uint64_t checksum;
};

static_assert(sizeof(LedgerHeader) == 32, "no padding");

/* Whether the ledger keeps holder: a lease or permits owned by a role, with a time to live. */
inline bool
Kept(const LeaseTable::Holder &holder) noexcept
{
	return holder.SessionPid() == 0 && holder.Expires() != kNeverExpires;
}

LedgerRecord RecordOf(const LeaseTable::Holder &holder) noexcept;

/*
 * What a record says, if it is a kept holder whose checksum and fields are
 * sound: the holder's spec (its name points into record), token and renewals.
 */
bool		ReadRecord(const LedgerRecord &record, HolderSpec *spec, std::int64_t *token,
					   std::int64_t *renewals) noexcept;

LedgerHeader HeaderFor(std::uint32_t places, std::int64_t life) noexcept;

/* Whether header is a sound header of this format. */
bool		HeaderIsSound(const LedgerHeader &header) noexcept;

/*
 * Where the table reports changes to kept holders: put(place, record) for a
 * holder inserted or renewed, put(place, nullptr) for one released or
 * removed.  Called under the table's exclusive lock.
 */
class LedgerSink
{
public:
	virtual void Put(std::uint32_t place, const LedgerRecord *record) noexcept = 0;

protected:
	~LedgerSink() = default;
};

} // namespace advlock_named
