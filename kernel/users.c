/* users.c: users, groups and passwords. /etc/passwd, /etc/group and /etc/shadow come from the
 * base module (base/ in the repository); the root password, the one password the DCUI sets,
 * is kept as its crypt hash in the configuration record (root.password) and written into
 * /etc/shadow at boot and whenever it changes, so it survives reboots and upgrades while the
 * files themselves come fresh from the bank. Hashes are SHA-512 crypt ("$6$", crypt.c) with a
 * 16-character salt; a shadow field that is not a $6$ hash ("!" not set, "*" no login) matches
 * no password. */
#include "system.h"
#include "x86.h"

#define SHADOW "/etc/shadow"
#define SHADOW_MAX 8192

static char shadow[SHADOW_MAX];

/* Replace `user`'s password field in the shadow text with `hash`; -1 when the user is missing. */
static int shadow_put(const char *user, const char *hash)
{
	static char out[SHADOW_MAX];
	size_t ulen = strlen(user), o = 0;
	const char *p = shadow;
	int found = 0;

	if (fs_read_file(SHADOW, shadow, sizeof shadow) < 0)
		return -1;
	while (*p) {
		const char *nl = p;
		int n;

		while (*nl && *nl != '\n')
			nl++;
		if (!found && (size_t)(nl - p) > ulen && memcmp(p, user, ulen) == 0 && p[ulen] == ':') {
			const char *rest = p + ulen + 1;

			while (rest < nl && *rest != ':')
				rest++;
			n = ksnprintf(out + o, sizeof out - o, "%s:%s%.*s\n", user, hash, (int)(nl - rest), rest);
			found = 1;
		} else {
			n = ksnprintf(out + o, sizeof out - o, "%.*s\n", (int)(nl - p), p);
		}
		if (n < 0 || (size_t)n >= sizeof out - o)
			return -1;
		o += (size_t)n;
		p = *nl ? nl + 1 : nl;
	}
	if (!found)
		return -1;
	return fs_write_file(SHADOW, out, o, 0400);
}

/* `user`'s password field, copied into `out`; -1 when the user has no shadow line. */
static int shadow_get(const char *user, char *out, size_t max)
{
	size_t ulen = strlen(user);
	const char *p = shadow;

	if (fs_read_file(SHADOW, shadow, sizeof shadow) < 0)
		return -1;
	while (*p) {
		const char *nl = p;

		while (*nl && *nl != '\n')
			nl++;
		if ((size_t)(nl - p) > ulen && memcmp(p, user, ulen) == 0 && p[ulen] == ':') {
			const char *f = p + ulen + 1, *e = f;

			while (e < nl && *e != ':')
				e++;
			if ((size_t)(e - f) >= max)
				return -1;
			memcpy(out, f, (size_t)(e - f));
			out[e - f] = 0;
			return 0;
		}
		p = *nl ? nl + 1 : nl;
	}
	return -1;
}

void users_init(void)
{
	const char *hash = config_get("root.password");
	char field[CRYPT_MAX];
	struct fs_stat st;

	if (fs_stat(SHADOW, &st) < 0 || shadow_get("root", field, sizeof field) < 0)
		panic("users: %s has no root entry (the base module is missing or damaged)", SHADOW);
	if (shadow_put("root", *hash ? hash : "!") < 0)
		panic("users: cannot update %s", SHADOW);
	kprintf("users: root password %s\n", *hash ? "set" : "not set (the DCUI asks for one)");
}

int users_password_set(const char *user)
{
	char field[CRYPT_MAX];

	return shadow_get(user, field, sizeof field) == 0 && memcmp(field, "$6$", 3) == 0;
}

/* 1 when `password` is `user`'s password, 0 when not (or the account has none). */
int users_check(const char *user, const char *password)
{
	char field[CRYPT_MAX], hash[CRYPT_MAX];

	if (shadow_get(user, field, sizeof field) < 0 || memcmp(field, "$6$", 3) != 0)
		return 0;
	if (crypt_sha512(password, field, hash) < 0)
		return 0;
	return strcmp(hash, field) == 0;
}

/* A salt from the TSC: not secret, only different per hash, which is all a salt must be. */
static void make_salt(char salt[17])
{
	static const char b64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	struct sha512 c;
	uint64_t t = rdtsc();
	uint8_t d[64];

	sha512_init(&c);
	sha512_update(&c, &t, sizeof t);
	sha512_update(&c, shadow, sizeof shadow);
	sha512_final(&c, d);
	for (int i = 0; i < 16; i++)
		salt[i] = b64[d[i] & 63];
	salt[16] = 0;
}

/* Set `user`'s password; root's is saved in the configuration record. 0, or -1 when it could
 * not be stored (then nothing changed). */
int users_set_password(const char *user, const char *password)
{
	char setting[3 + 17], hash[CRYPT_MAX];

	memcpy(setting, "$6$", 3);
	make_salt(setting + 3);
	if (crypt_sha512(password, setting, hash) < 0)
		panic("users: crypt refused its own setting %s", setting);
	if (strcmp(user, "root") == 0) {
		char old[HOSTCFG_VALUE_MAX];

		ksnprintf(old, sizeof old, "%s", config_get("root.password"));
		if (config_set("root.password", hash) < 0 || config_save() < 0) {
			config_set("root.password", old);
			return -1;
		}
	}
	if (shadow_put(user, hash) < 0)
		return -1;
	kprintf("users: password of %s changed\n", user);
	return 0;
}
