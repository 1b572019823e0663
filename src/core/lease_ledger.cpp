/*-------------------------------------------------------------------------
 *
 * lease_ledger.cpp
 *	  The lease ledger's records and header; see lease_ledger.hpp.
 *
 *-------------------------------------------------------------------------
 */
#include "lease_ledger.hpp"

#include <cstddef>
#include <cstring>

namespace advlock_named {
namespace {

constexpr std::uint32_t kRecordMagic = 0x4c4e4c52;	/* "RLNL" */
constexpr std::uint32_t kFileMagic = 0x4c4e4c46;	/* "FLNL" */
constexpr std::uint32_t kFileVersion = 1;

/* FNV-1a: catches a record cut short or torn, which is all a checksum here is for. */
std::uint64_t
Checksum(const void *bytes, std::size_t length) noexcept
{
	const unsigned char *p = static_cast<const unsigned char *>(bytes);
	std::uint64_t hash = 0xcbf29ce484222325u;

	for (std::size_t i = 0; i < length; i++)
		hash = (hash ^ p[i]) * 0x100000001b3u;
	return hash;
}

} // namespace

LedgerRecord
RecordOf(const LeaseTable::Holder &holder) noexcept
{
	LedgerRecord record;
	std::string_view name = holder.Name();

	std::memset(&record, 0, sizeof(record));
	record.magic = kRecordMagic;
	record.database = holder.GetResource().database;
	record.key = holder.GetResource().key;
	record.token = holder.Token();
	record.acquired = holder.Acquired();
	record.expires = holder.Expires();
	record.renewals = holder.Renewals();
	record.fingerprint = holder.Fingerprint();
	record.role = holder.Role();
	record.permits = holder.Permits();
	record.capacity = holder.Capacity();
	record.space = static_cast<std::uint8_t>(holder.GetResource().space);
	record.kind = static_cast<std::uint8_t>(holder.Kind());
	record.truncated = holder.Truncated();
	record.name_length = static_cast<std::uint8_t>(name.size());
	std::memcpy(record.name, name.data(), name.size());
	record.checksum = Checksum(&record, offsetof(LedgerRecord, checksum));
	return record;
}

bool
ReadRecord(const LedgerRecord &record, HolderSpec *spec, std::int64_t *token, std::int64_t *renewals) noexcept
{
	auto		space = static_cast<LeaseSpace>(record.space);
	auto		kind = static_cast<HolderKind>(record.kind);

	if (record.magic != kRecordMagic || record.checksum != Checksum(&record, offsetof(LedgerRecord, checksum)))
		return false;
	if (record.name_length > kLeaseNameBytes || record.token <= 0 || record.expires == kNeverExpires ||
		record.renewals < 0)
		return false;
	/* a lock-space holder is a shared or exclusive lease; a semaphore's, permits within capacity */
	if (space == LeaseSpace::kLock ? kind != HolderKind::kShared && kind != HolderKind::kExclusive
		: space != LeaseSpace::kSemaphore || kind != HolderKind::kPermits || record.permits < 1 ||
		record.permits > record.capacity)
		return false;
	*spec = HolderSpec{Resource{record.database, space, record.key}, kind, record.role, record.permits,
					   record.capacity, record.acquired, record.expires, 0, 0, record.fingerprint,
					   std::string_view(record.name, record.name_length), record.truncated != 0};
	*token = record.token;
	*renewals = record.renewals;
	return true;
}

LedgerHeader
HeaderFor(std::uint32_t places, std::int64_t life) noexcept
{
	LedgerHeader header{kFileMagic, kFileVersion, sizeof(LedgerRecord), places, life, 0};

	header.checksum = Checksum(&header, offsetof(LedgerHeader, checksum));
	return header;
}

bool
HeaderIsSound(const LedgerHeader &header) noexcept
{
	return header.magic == kFileMagic && header.version == kFileVersion &&
		header.record_bytes == sizeof(LedgerRecord) &&
		header.checksum == Checksum(&header, offsetof(LedgerHeader, checksum));
}

} // namespace advlock_named
