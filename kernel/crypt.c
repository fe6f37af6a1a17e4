/* crypt.c: SHA-crypt with SHA-512, the "$6$" password hashes of glibc's crypt(3), written from
 * Ulrich Drepper's specification "Unix crypt using SHA-256 and SHA-512" (the numbered steps
 * below are its steps). The setting is "$6$SALT" or "$6$rounds=N$SALT", optionally followed by
 * "$..." (a whole hash, so checking a password is crypt(password, hash) == hash). The salt is at
 * most 16 characters, rounds are clamped to 1000..999999999, default 5000. Also built for the
 * host by test/c/system-host.c, which compares it with openssl passwd -6. */
#include "system.h"

#define ROUNDS_DEFAULT 5000
#define ROUNDS_MIN 1000
#define ROUNDS_MAX 999999999ul
#define SALT_MAX 16

static const char b64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* Feed `n` bytes made of repeats of the 64-byte digest `d` (steps 3 and the P/S sequences). */
static void add_repeated(struct sha512 *c, const uint8_t d[64], size_t n)
{
	for (; n >= 64; n -= 64)
		sha512_update(c, d, 64);
	sha512_update(c, d, n);
}

/* Four (or `n`) base-64 characters, least significant six bits first. */
static char *put24(char *p, uint8_t b2, uint8_t b1, uint8_t b0, int n)
{
	uint32_t w = (uint32_t)b2 << 16 | (uint32_t)b1 << 8 | b0;

	while (n-- > 0) {
		*p++ = b64[w & 0x3f];
		w >>= 6;
	}
	return p;
}

/* Returns 0 and the hash in `out`, or -1 when `setting` is not a $6$ setting. */
int crypt_sha512(const char *key, const char *setting, char out[CRYPT_MAX])
{
	/* The byte order of step 22: each triple becomes four characters. */
	static const uint8_t perm[21][3] = {
		{ 0, 21, 42 }, { 22, 43, 1 }, { 44, 2, 23 }, { 3, 24, 45 }, { 25, 46, 4 }, { 47, 5, 26 }, { 6, 27, 48 },
		{ 28, 49, 7 }, { 50, 8, 29 }, { 9, 30, 51 }, { 31, 52, 10 }, { 53, 11, 32 }, { 12, 33, 54 }, { 34, 55, 13 },
		{ 56, 14, 35 }, { 15, 36, 57 }, { 37, 58, 16 }, { 59, 17, 38 }, { 18, 39, 60 }, { 40, 61, 19 }, { 62, 20, 41 },
	};
	struct sha512 c, alt;
	uint8_t a[64], b[64], dp[64], ds[64];
	uint64_t rounds = ROUNDS_DEFAULT;
	size_t klen = strlen(key), slen = 0;
	const char *salt;
	int custom = 0;
	char *p;

	if (memcmp(setting, "$6$", 3) != 0)
		return -1;
	salt = setting + 3;
	if (memcmp(salt, "rounds=", 7) == 0) {
		const char *q = salt + 7;
		uint64_t r = 0;

		if (*q < '0' || *q > '9')
			return -1;
		for (; *q >= '0' && *q <= '9'; q++)
			if ((r = r * 10 + (uint64_t)(*q - '0')) > ROUNDS_MAX)
				r = ROUNDS_MAX + 1;   /* saturate; clamped below */
		if (*q != '$')
			return -1;
		rounds = r < ROUNDS_MIN ? ROUNDS_MIN : r > ROUNDS_MAX ? ROUNDS_MAX : r;
		custom = 1;
		salt = q + 1;
	}
	while (slen < SALT_MAX && salt[slen] && salt[slen] != '$')
		slen++;

	/* Steps 4-8: digest B of key, salt, key. */
	sha512_init(&alt);
	sha512_update(&alt, key, klen);
	sha512_update(&alt, salt, slen);
	sha512_update(&alt, key, klen);
	sha512_final(&alt, b);

	/* Steps 1-3, 9-12: digest A. */
	sha512_init(&c);
	sha512_update(&c, key, klen);
	sha512_update(&c, salt, slen);
	add_repeated(&c, b, klen);
	for (size_t n = klen; n; n >>= 1)
		if (n & 1)
			sha512_update(&c, b, 64);
		else
			sha512_update(&c, key, klen);
	sha512_final(&c, a);

	/* Steps 13-16: DP, the key hashed once per byte of the key; P is DP repeated to klen. */
	sha512_init(&alt);
	for (size_t i = 0; i < klen; i++)
		sha512_update(&alt, key, klen);
	sha512_final(&alt, dp);

	/* Steps 17-20: DS, the salt hashed 16 + A[0] times; S is DS cut to slen. */
	sha512_init(&alt);
	for (unsigned i = 0; i < 16u + a[0]; i++)
		sha512_update(&alt, salt, slen);
	sha512_final(&alt, ds);

	/* Step 21: the rounds. */
	for (uint64_t r = 0; r < rounds; r++) {
		sha512_init(&c);
		if (r & 1)
			add_repeated(&c, dp, klen);
		else
			sha512_update(&c, a, 64);
		if (r % 3)
			sha512_update(&c, ds, slen);
		if (r % 7)
			add_repeated(&c, dp, klen);
		if (r & 1)
			sha512_update(&c, a, 64);
		else
			add_repeated(&c, dp, klen);
		sha512_final(&c, a);
	}

	/* Step 22: "$6$", "rounds=N$" when given, the salt, "$", the encoded digest. */
	p = out;
	if (custom)
		p += ksnprintf(p, 32, "$6$rounds=%lu$", rounds);
	else
		p += ksnprintf(p, 8, "$6$");
	memcpy(p, salt, slen);
	p += slen;
	*p++ = '$';
	for (int i = 0; i < 21; i++)
		p = put24(p, a[perm[i][0]], a[perm[i][1]], a[perm[i][2]], 4);
	p = put24(p, 0, 0, a[63], 2);
	*p = 0;
	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	memset(dp, 0, sizeof dp);
	return 0;
}
