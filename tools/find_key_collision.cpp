/*-------------------------------------------------------------------------
 *
 * find_key_collision.cpp
 *	  Finds two distinct printable names with the same 64-bit lock key.
 *
 * A key is 64 bits of SHA-256, so a pair of names sharing one costs about
 * 2^32 hashes by the birthday bound.  Storing 2^32 keys would take tens of
 * gigabytes; the parallel collision search of van Oorschot and Wiener needs
 * almost no memory instead.  It iterates the step function
 *
 *	  f(x) = key of Name(x),  Name(x) = "advlock-collision-" + 16 hex digits of x
 *
 * on 64-bit values from random starts, and ends each chain at the first
 * "distinguished" value, one whose low k bits are zero.  Two chains that ever
 * meet run together from then on and so end at the same distinguished point;
 * only those points are stored.  When a chain ends at a point already stored
 * from another start, both chains are walked again from their starts, the
 * longer one first advanced by the difference in length, until the step at
 * which they merge: the two values just before it are distinct inputs with
 * equal f, that is two names with equal keys.  Two cases give no collision:
 * one start lying on the other chain (the "Robin Hood" case, the walks are
 * equal from the outset), and a chain caught in a cycle with no
 * distinguished point, which is abandoned after 20 * 2^k steps.
 *
 * The result is reproducible: chain i starts from a value derived from the
 * seed and i, and chains are checked against the stored points in index
 * order, so the first collision found does not depend on the thread count
 * or on scheduling; threads only compute chains ahead, a batch at a time.
 *
 * Build and run from the repository root:
 *
 *	  g++ -std=c++17 -O2 -march=native -pthread -I src/core -o /tmp/find_key_collision \
 *		  tools/find_key_collision.cpp src/core/sha256.cpp src/core/name_key.cpp
 *	  /tmp/find_key_collision [--threads N] [--bits K] [--seed S]
 *
 *	  --threads N  worker threads (default: the number of CPUs)
 *	  --bits K     low zero bits of a distinguished point, 1..40 (default 20)
 *	  --seed S     seed of the chain starts, decimal or 0x hex (default 0x6c6f636b)
 *
 * Progress goes to stderr; the result to stdout as two lines, each a name
 * followed by its key in decimal (signed, as SQL shows it) and hex.  Expect
 * about 1.25 * 2^32 hashes, plus up to one batch (64 chains of about 2^K
 * steps per thread) computed past the collision: minutes with SHA-NI.  With
 * the defaults it found, after 7.8e9 hashes (2^32.86, 13 minutes on two
 * SHA-NI cores shared with other work):
 *
 *	  advlock-collision-7a7b802c941fbd50 6367857746472533293 0x585f2ce1ceb6fd2d
 *	  advlock-collision-1092ac1e4d268321 6367857746472533293 0x585f2ce1ceb6fd2d
 *
 *-------------------------------------------------------------------------
 */
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "name_key.hpp"

namespace {

constexpr char kPrefix[] = "advlock-collision-";
constexpr std::size_t kPrefixLength = sizeof(kPrefix) - 1;
constexpr std::size_t kNameLength = kPrefixLength + 16;

/* Fixed width makes the name of each value unique and keeps it one block. */
struct Name
{
	char bytes[kNameLength];

	explicit Name(std::uint64_t x)
	{
		static constexpr char kHexDigits[] = "0123456789abcdef";

		std::memcpy(bytes, kPrefix, kPrefixLength);
		for (std::size_t i = 0; i < 16; i++)
			bytes[kPrefixLength + i] = kHexDigits[(x >> (60 - 4 * i)) & 0xf];
	}

	std::string_view View() const { return std::string_view(bytes, kNameLength); }
};

std::uint64_t
Step(std::uint64_t x)
{
	return static_cast<std::uint64_t>(advlock_named::NameKey(Name(x).View()));
}

/* SplitMix64: spreads consecutive indexes into unrelated chain starts. */
std::uint64_t
ChainStart(std::uint64_t seed, std::uint64_t index)
{
	std::uint64_t z = seed + (index + 1) * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct Chain
{
	std::uint64_t start;
	std::uint64_t end;			/* the distinguished point */
	std::uint64_t length;		/* steps from start to end; 0 if abandoned */
};

Chain
WalkChain(std::uint64_t start, std::uint64_t mask, std::uint64_t max_length)
{
	std::uint64_t x = start;

	for (std::uint64_t length = 1; length <= max_length; length++)
	{
		x = Step(x);
		if ((x & mask) == 0)
			return Chain{start, x, length};
	}
	return Chain{start, x, 0};
}

struct Collision
{
	bool found;
	std::uint64_t a;
	std::uint64_t b;
	std::uint64_t steps;		/* hashes spent re-walking */
};

/* Walks two chains that end at the same point to the step where they merge. */
Collision
Locate(const Chain &first, const Chain &second)
{
	const Chain &longer = first.length >= second.length ? first : second;
	const Chain &shorter = first.length >= second.length ? second : first;
	std::uint64_t a = longer.start;
	std::uint64_t b = shorter.start;
	std::uint64_t steps = 0;

	for (std::uint64_t i = shorter.length; i < longer.length; i++, steps++)
		a = Step(a);
	if (a == b)
		return Collision{false, 0, 0, steps};	/* Robin Hood */

	for (;;)
	{
		std::uint64_t next_a = Step(a);
		std::uint64_t next_b = Step(b);

		steps += 2;
		if (next_a == next_b)
			return Collision{true, a, b, steps};
		a = next_a;
		b = next_b;
	}
}

void
PrintName(std::uint64_t x)
{
	Name name(x);
	std::int64_t key = advlock_named::NameKey(name.View());

	std::printf("%.*s %" PRId64 " 0x%016" PRIx64 "\n", int(kNameLength), name.bytes, key,
				static_cast<std::uint64_t>(key));
}

[[noreturn]] void
Usage(const char *program)
{
	std::fprintf(stderr, "usage: %s [--threads N] [--bits K] [--seed S]\n", program);
	std::exit(2);
}

std::uint64_t
ParseNumber(const char *program, const char *text, std::uint64_t min, std::uint64_t max)
{
	char *end;
	std::uint64_t value = std::strtoull(text, &end, 0);

	if (*text == '\0' || *text == '-' || *end != '\0' || value < min || value > max)
		Usage(program);
	return value;
}

} // namespace

int
main(int argc, char **argv)
{
	unsigned threads = std::thread::hardware_concurrency();
	unsigned bits = 20;
	std::uint64_t seed = 0x6c6f636b;

	for (int i = 1; i < argc; i++)
	{
		std::string option = argv[i];

		if (i + 1 == argc)
			Usage(argv[0]);
		if (option == "--threads")
			threads = unsigned(ParseNumber(argv[0], argv[++i], 1, 1024));
		else if (option == "--bits")
			bits = unsigned(ParseNumber(argv[0], argv[++i], 1, 40));
		else if (option == "--seed")
			seed = ParseNumber(argv[0], argv[++i], 0, UINT64_MAX);
		else
			Usage(argv[0]);
	}
	if (threads == 0)
		threads = 1;

	const std::uint64_t mask = (std::uint64_t(1) << bits) - 1;
	const std::uint64_t max_length = 20 * (mask + 1);
	/* Enough chains per batch that the slowest thread idles little at its end. */
	const std::size_t batch_size = 64 * std::size_t(threads);
	const auto began = std::chrono::steady_clock::now();
	std::unordered_map<std::uint64_t, Chain> points;
	std::vector<Chain> batch(batch_size);
	std::uint64_t hashes = 0, abandoned = 0, robin_hoods = 0;

	std::fprintf(stderr, "find_key_collision: %u threads, %u distinguished bits, seed 0x%" PRIx64 "\n",
				 threads, bits, seed);
	for (std::uint64_t first_index = 0;; first_index += batch_size)
	{
		std::atomic<std::size_t> next{0};
		std::vector<std::thread> workers;

		for (unsigned t = 0; t < threads; t++)
			workers.emplace_back([&] {
				for (std::size_t i; (i = next++) < batch_size;)
					batch[i] = WalkChain(ChainStart(seed, first_index + i), mask, max_length);
			});
		for (std::thread &worker : workers)
			worker.join();

		for (const Chain &chain : batch)
		{
			hashes += chain.length != 0 ? chain.length : max_length;
			if (chain.length == 0)
			{
				abandoned++;
				continue;
			}

			auto [stored, inserted] = points.try_emplace(chain.end, chain);

			if (inserted || stored->second.start == chain.start)
				continue;

			Collision collision = Locate(stored->second, chain);

			hashes += collision.steps;
			if (!collision.found)
			{
				robin_hoods++;
				continue;
			}

			double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();

			std::fprintf(stderr,
						 "collision after %" PRIu64 " hashes (2^%.2f) in %.1f s; %zu distinguished points, "
						 "%" PRIu64 " chains abandoned, %" PRIu64 " Robin Hood merges\n",
						 hashes, std::log2(double(hashes)), seconds, points.size(), abandoned, robin_hoods);
			PrintName(collision.a);
			PrintName(collision.b);
			return 0;
		}

		double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();

		std::fprintf(stderr, "%" PRIu64 " chains, %" PRIu64 " hashes (2^%.2f), %.1f s, %.1f M hashes/s\n",
					 first_index + batch_size, hashes, std::log2(double(hashes)), seconds,
					 double(hashes) / seconds / 1e6);
	}
}
