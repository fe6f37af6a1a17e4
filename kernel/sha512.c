/* sha512.c: SHA-512 (FIPS 180-4, sections 4.1.3, 4.2.3, 5.1.2, 5.3.5, 6.4), for the password
 * hashes of crypt.c. The constants are the first 64 bits of the fractional parts of the cube
 * roots of the first 80 primes (K) and of the square roots of the first 8 primes (H0), as 4.2.3
 * and 5.3.5 define them. Also built for the host by test/c/system-host.c. */
#include "system.h"

static const uint64_t K[80] = {
	0x428a2f98d728ae22ull, 0x7137449123ef65cdull, 0xb5c0fbcfec4d3b2full, 0xe9b5dba58189dbbcull,
	0x3956c25bf348b538ull, 0x59f111f1b605d019ull, 0x923f82a4af194f9bull, 0xab1c5ed5da6d8118ull,
	0xd807aa98a3030242ull, 0x12835b0145706fbeull, 0x243185be4ee4b28cull, 0x550c7dc3d5ffb4e2ull,
	0x72be5d74f27b896full, 0x80deb1fe3b1696b1ull, 0x9bdc06a725c71235ull, 0xc19bf174cf692694ull,
	0xe49b69c19ef14ad2ull, 0xefbe4786384f25e3ull, 0x0fc19dc68b8cd5b5ull, 0x240ca1cc77ac9c65ull,
	0x2de92c6f592b0275ull, 0x4a7484aa6ea6e483ull, 0x5cb0a9dcbd41fbd4ull, 0x76f988da831153b5ull,
	0x983e5152ee66dfabull, 0xa831c66d2db43210ull, 0xb00327c898fb213full, 0xbf597fc7beef0ee4ull,
	0xc6e00bf33da88fc2ull, 0xd5a79147930aa725ull, 0x06ca6351e003826full, 0x142929670a0e6e70ull,
	0x27b70a8546d22ffcull, 0x2e1b21385c26c926ull, 0x4d2c6dfc5ac42aedull, 0x53380d139d95b3dfull,
	0x650a73548baf63deull, 0x766a0abb3c77b2a8ull, 0x81c2c92e47edaee6ull, 0x92722c851482353bull,
	0xa2bfe8a14cf10364ull, 0xa81a664bbc423001ull, 0xc24b8b70d0f89791ull, 0xc76c51a30654be30ull,
	0xd192e819d6ef5218ull, 0xd69906245565a910ull, 0xf40e35855771202aull, 0x106aa07032bbd1b8ull,
	0x19a4c116b8d2d0c8ull, 0x1e376c085141ab53ull, 0x2748774cdf8eeb99ull, 0x34b0bcb5e19b48a8ull,
	0x391c0cb3c5c95a63ull, 0x4ed8aa4ae3418acbull, 0x5b9cca4f7763e373ull, 0x682e6ff3d6b2b8a3ull,
	0x748f82ee5defb2fcull, 0x78a5636f43172f60ull, 0x84c87814a1f0ab72ull, 0x8cc702081a6439ecull,
	0x90befffa23631e28ull, 0xa4506cebde82bde9ull, 0xbef9a3f7b2c67915ull, 0xc67178f2e372532bull,
	0xca273eceea26619cull, 0xd186b8c721c0c207ull, 0xeada7dd6cde0eb1eull, 0xf57d4f7fee6ed178ull,
	0x06f067aa72176fbaull, 0x0a637dc5a2c898a6ull, 0x113f9804bef90daeull, 0x1b710b35131c471bull,
	0x28db77f523047d84ull, 0x32caab7b40c72493ull, 0x3c9ebe0a15c9bebcull, 0x431d67c49c100d4cull,
	0x4cc5d4becb3e42b6ull, 0x597f299cfc657e2aull, 0x5fcb6fab3ad6faecull, 0x6c44198c4a475817ull,
};

static const uint64_t H0[8] = {
	0x6a09e667f3bcc908ull,
	0xbb67ae8584caa73bull,
	0x3c6ef372fe94f82bull,
	0xa54ff53a5f1d36f1ull,
	0x510e527fade682d1ull,
	0x9b05688c2b3e6c1full,
	0x1f83d9abfb41bd6bull,
	0x5be0cd19137e2179ull,
};

static uint64_t ror(uint64_t x, int n)
{
	return x >> n | x << (64 - n);
}

static void compress(struct sha512 *c, const uint8_t *p)
{
	uint64_t w[80], a, b, cc, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++) {
		w[i] = 0;
		for (int j = 0; j < 8; j++)
			w[i] = w[i] << 8 | p[i * 8 + j];
	}
	for (; i < 80; i++) {
		uint64_t s0 = ror(w[i - 15], 1) ^ ror(w[i - 15], 8) ^ w[i - 15] >> 7;
		uint64_t s1 = ror(w[i - 2], 19) ^ ror(w[i - 2], 61) ^ w[i - 2] >> 6;
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3];
	e = c->h[4], f = c->h[5], g = c->h[6], h = c->h[7];
	for (i = 0; i < 80; i++) {
		t1 = h + (ror(e, 14) ^ ror(e, 18) ^ ror(e, 41)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		t2 = (ror(a, 28) ^ ror(a, 34) ^ ror(a, 39)) + ((a & b) ^ (a & cc) ^ (b & cc));
		h = g, g = f, f = e, e = d + t1;
		d = cc, cc = b, b = a, a = t1 + t2;
	}
	c->h[0] += a, c->h[1] += b, c->h[2] += cc, c->h[3] += d;
	c->h[4] += e, c->h[5] += f, c->h[6] += g, c->h[7] += h;
}

void sha512_init(struct sha512 *c)
{
	memcpy(c->h, H0, sizeof c->h);
	c->len = 0;
}

void sha512_update(struct sha512 *c, const void *data, size_t n)
{
	const uint8_t *p = data;

	while (n) {
		size_t used = c->len % 128, take = 128 - used < n ? 128 - used : n;

		memcpy(c->buf + used, p, take);
		c->len += take;
		p += take;
		n -= take;
		if (c->len % 128 == 0)
			compress(c, c->buf);
	}
}

/* 5.1.2: a 1 bit, zeros up to 112 mod 128 bytes, then the length in bits as 128 bits. Our
 * messages are far below 2^61 bytes, so the high 64 bits of the length are zero. */
void sha512_final(struct sha512 *c, uint8_t out[64])
{
	uint64_t bits = c->len * 8;
	uint8_t pad[128 + 16] = { 0x80 };
	size_t used = c->len % 128, n = (used < 112 ? 112 : 240) - used;

	for (int i = 0; i < 8; i++)
		pad[n + 8 + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha512_update(c, pad, n + 16);
	for (int i = 0; i < 64; i++)
		out[i] = (uint8_t)(c->h[i / 8] >> (56 - 8 * (i % 8)));
}
