/*-------------------------------------------------------------------------
 *
 * sha256.cpp
 *	  A small, allocation-free SHA-256 (FIPS 180-4).
 *
 * We own the hash instead of borrowing the server's cryptohash API because
 * the OpenSSL-backed one allocates and registers a resource owner on every
 * call, and because the key derivation must stay testable without a server.
 * Key derivation is on every lock call's path, so on x86-64 CPUs with the
 * SHA extensions the compression function uses them.
 *
 *-------------------------------------------------------------------------
 */
#include "sha256.hpp"

#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#if defined(__has_include)
#if __has_include(<sys/platform/x86.h>)
/* a C header (glibc 2.33 and later); g++ knows C's _Bool, clang++ does not */
#define _Bool bool
#include <sys/platform/x86.h>
#undef _Bool
#define ADVLOCK_NAMED_GLIBC_CPU_FEATURES 1
#endif
#endif
#endif

namespace advlock_named {
namespace {

constexpr std::uint32_t kRoundConstants[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

constexpr std::uint32_t kInitialState[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

constexpr std::size_t kBlockSize = 64;

constexpr std::uint32_t
RotateRight(std::uint32_t x, int n) noexcept
{
	return (x >> n) | (x << (32 - n));
}

std::uint32_t
LoadBigEndian32(const std::uint8_t *p) noexcept
{
	return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
		   std::uint32_t(p[3]);
}

void
StoreBigEndian32(std::uint8_t *p, std::uint32_t v) noexcept
{
	p[0] = std::uint8_t(v >> 24);
	p[1] = std::uint8_t(v >> 16);
	p[2] = std::uint8_t(v >> 8);
	p[3] = std::uint8_t(v);
}

void
CompressPortable(std::uint32_t state[8], const std::uint8_t *block) noexcept
{
	std::uint32_t w[64];

	for (int i = 0; i < 16; i++)
		w[i] = LoadBigEndian32(block + 4 * i);
	for (int i = 16; i < 64; i++)
	{
		std::uint32_t s0 = RotateRight(w[i - 15], 7) ^ RotateRight(w[i - 15], 18) ^ (w[i - 15] >> 3);
		std::uint32_t s1 = RotateRight(w[i - 2], 17) ^ RotateRight(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}

	std::uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
	std::uint32_t e = state[4], f = state[5], g = state[6], h = state[7];

	for (int i = 0; i < 64; i++)
	{
		std::uint32_t s1 = RotateRight(e, 6) ^ RotateRight(e, 11) ^ RotateRight(e, 25);
		std::uint32_t choose = (e & f) ^ (~e & g);
		std::uint32_t t1 = h + s1 + choose + kRoundConstants[i] + w[i];
		std::uint32_t s0 = RotateRight(a, 2) ^ RotateRight(a, 13) ^ RotateRight(a, 22);
		std::uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
		std::uint32_t t2 = s0 + majority;

		h = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}

	state[0] += a;
	state[1] += b;
	state[2] += c;
	state[3] += d;
	state[4] += e;
	state[5] += f;
	state[6] += g;
	state[7] += h;
}

#if defined(__x86_64__)
/*
 * The same compression with the SHA extensions (SHA-NI), several times
 * faster; the state is kept as the ABEF/CDGH register pair they work on.
 */
__attribute__((target("sha,ssse3,sse4.1"))) void
CompressShaNi(std::uint32_t state[8], const std::uint8_t *block) noexcept
{
	const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i dcba = _mm_loadu_si128(reinterpret_cast<const __m128i *>(&state[0]));
	__m128i hgfe = _mm_loadu_si128(reinterpret_cast<const __m128i *>(&state[4]));
	__m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
	__m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
	__m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
	__m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
	const __m128i abef_start = abef;
	const __m128i cdgh_start = cdgh;
	__m128i w[16];

#pragma GCC unroll 16
	for (int i = 0; i < 16; i++)
	{
		__m128i message;

		if (i < 4)
			w[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i *>(block + 16 * i)),
									byte_swap);
		else
			w[i] = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(w[i - 4], w[i - 3]),
													  _mm_alignr_epi8(w[i - 1], w[i - 2], 4)),
										w[i - 1]);
		/* four rounds: two at a time, the upper message words moved down for the second pair */
		message = _mm_add_epi32(w[i], _mm_loadu_si128(reinterpret_cast<const __m128i *>(&kRoundConstants[4 * i])));
		cdgh = _mm_sha256rnds2_epu32(cdgh, abef, message);
		abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(message, 0x0E));
	}

	abef = _mm_add_epi32(abef, abef_start);
	cdgh = _mm_add_epi32(cdgh, cdgh_start);
	__m128i feba = _mm_shuffle_epi32(abef, 0x1B);
	__m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
	_mm_storeu_si128(reinterpret_cast<__m128i *>(&state[0]), _mm_blend_epi16(feba, dchg, 0xF0));
	_mm_storeu_si128(reinterpret_cast<__m128i *>(&state[4]), _mm_alignr_epi8(dchg, feba, 8));
}

/*
 * glibc reads CPUID once, when the postmaster starts, and every backend
 * inherits its answer, so asking glibc costs a few nanoseconds.  CPUID
 * itself traps to the hypervisor on a virtual machine: on the bench host
 * one check (two CPUID instructions) took about 30 us, which each new
 * connection paid on its first named lock.
 */
bool
CpuHasShaNi() noexcept
{
#if defined(ADVLOCK_NAMED_GLIBC_CPU_FEATURES)
	return CPU_FEATURE_ACTIVE(SHA);
#else
	unsigned int eax, ebx, ecx, edx;

	/* leaf 7: EBX bit 29 is SHA; SSE4.1 (leaf 1, ECX bit 19) comes with every SHA CPU */
	if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
		return false;
	return (ebx & (1u << 29)) != 0;
#endif
}
#endif

using CompressFunction = void (*)(std::uint32_t state[8], const std::uint8_t *block) noexcept;

CompressFunction
CompressFor(Sha256Engine engine) noexcept
{
#if defined(__x86_64__)
	if (engine == Sha256Engine::kShaNi)
		return CompressShaNi;
#endif
	return CompressPortable;
}

/* Hashes bytes into state, the eight words the digest is made of. */
void
HashInto(std::uint32_t state[8], CompressFunction compress, std::string_view bytes) noexcept
{
	const auto *data = reinterpret_cast<const std::uint8_t *>(bytes.data());
	std::size_t length = bytes.size();
	std::size_t full_blocks = length / kBlockSize;

	std::memcpy(state, kInitialState, sizeof(kInitialState));
	for (std::size_t i = 0; i < full_blocks; i++)
		compress(state, data + i * kBlockSize);

	/* The tail, the 0x80 marker and the bit length fill one or two blocks. */
	std::uint8_t tail[2 * kBlockSize];
	std::size_t tail_length = length % kBlockSize;
	std::size_t tail_blocks = tail_length + 1 + 8 <= kBlockSize ? 1 : 2;
	std::uint64_t bit_length = std::uint64_t(length) * 8;

	std::memcpy(tail, data + full_blocks * kBlockSize, tail_length);
	tail[tail_length] = 0x80;
	std::memset(tail + tail_length + 1, 0, tail_blocks * kBlockSize - tail_length - 1);
	StoreBigEndian32(tail + tail_blocks * kBlockSize - 8, std::uint32_t(bit_length >> 32));
	StoreBigEndian32(tail + tail_blocks * kBlockSize - 4, std::uint32_t(bit_length));
	for (std::size_t i = 0; i < tail_blocks; i++)
		compress(state, tail + i * kBlockSize);
}

Sha256Digest
DigestOf(const std::uint32_t state[8]) noexcept
{
	Sha256Digest digest;

	for (int i = 0; i < 8; i++)
		StoreBigEndian32(digest.data() + 4 * i, state[i]);
	return digest;
}

CompressFunction
BestCompress() noexcept
{
	static const CompressFunction best = CompressFor(BestSha256Engine());

	return best;
}

} // namespace

Sha256Engine
BestSha256Engine() noexcept
{
#if defined(__x86_64__)
	static const bool has_sha_ni = CpuHasShaNi();

	if (has_sha_ni)
		return Sha256Engine::kShaNi;
#endif
	return Sha256Engine::kPortable;
}

Sha256Head
Sha256First128(std::string_view bytes) noexcept
{
	std::uint32_t state[8];

	HashInto(state, BestCompress(), bytes);
	return Sha256Head{(std::uint64_t(state[0]) << 32) | state[1],
					  (std::uint64_t(state[2]) << 32) | state[3]};
}

Sha256Digest
Sha256With(Sha256Engine engine, std::string_view bytes) noexcept
{
	std::uint32_t state[8];

	HashInto(state, CompressFor(engine), bytes);
	return DigestOf(state);
}

} // namespace advlock_named
