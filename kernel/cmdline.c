/* cmdline.c: the kernel options (boot.cfg's kernelopt, passed by the loader). Words are
 * separated by spaces or tabs; a word is `key=value` or a bare `key` (value ""); double quotes
 * group spaces into a value (`title="my box"`) and are removed. A key given twice keeps the
 * last value, as boot.cfg does. The options are copied, so the loader's memory can be reused.
 * Also built for the host by test/kernel. */
#include "defs.h"

#define CMDLINE_MAX 1024   /* bytes of keys and values kept */
#define CMDLINE_OPTS 64

static char store[CMDLINE_MAX];
static struct {
	const char *key, *val;
} opts[CMDLINE_OPTS];
static int nopts;

static int space(char c)
{
	return c == ' ' || c == '\t';
}

void cmdline_init(const char *s)
{
	size_t n = 0;

	nopts = 0;
	while (*s) {
		const char *word;
		size_t start = n;
		int quoted = 0, has_val = 0;
		const char *val = NULL;

		while (space(*s))
			s++;
		if (!*s)
			break;
		word = s;
		/* Copy one word: the key, a NUL where '=' was, the value, a NUL. */
		for (; *s && (quoted || !space(*s)); s++) {
			if (*s == '"') {
				quoted = !quoted;
				continue;
			}
			if (n + 2 >= CMDLINE_MAX)
				break;
			if (*s == '=' && !has_val) {
				has_val = 1;
				store[n++] = 0;
				val = &store[n];
				continue;
			}
			store[n++] = *s;
		}
		if (n + 2 >= CMDLINE_MAX || nopts == CMDLINE_OPTS) {
			kprintf("cmdline: options too long; ignoring from \"%.40s\"\n", word);
			return;
		}
		store[n++] = 0;
		if (!has_val)
			val = &store[n - 1];   /* the empty string after the key */
		if (store[start] == 0) {
			kprintf("cmdline: ignoring \"%.*s\": no key\n", (int)(s - word), word);
			n = start;
			continue;
		}
		opts[nopts].key = &store[start];
		opts[nopts].val = val;
		nopts++;
	}
}

/* The value of `key`, "" for a bare key, or NULL when it is not given. */
const char *cmdline_get(const char *key)
{
	for (int i = nopts - 1; i >= 0; i--)
		if (strcmp(opts[i].key, key) == 0)
			return opts[i].val;
	return NULL;
}

/* A decimal option, or `def` when it is absent or not a number (with a warning: a typo in a
 * boot option should show, not silently change behaviour). */
uint64_t cmdline_uint(const char *key, uint64_t def)
{
	const char *v = cmdline_get(key), *p;
	uint64_t n = 0;

	if (!v)
		return def;
	for (p = v; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			break;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (p == v || *p) {
		kprintf("cmdline: %s=%s is not a decimal number; using %lu\n", key, v, def);
		return def;
	}
	return n;
}
